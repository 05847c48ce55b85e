import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `date` header (IMF-fixdate), formatted at most once per second per event loop.
struct HTTPDateCache {
    private var second: Int = -1
    private var cached = ""
    /// Wall-clock minus monotonic nanoseconds at the latest wall-clock read, for
    /// `current(at:)`: within a second it tells the wall-clock second from a monotonic reading
    /// the caller already has.
    private var wallMinusMonotonic: Int64 = 0

    mutating func current() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let seconds = Int(now.tv_sec)
        if seconds != second {
            second = seconds
            cached = Self.format(epochSeconds: seconds)
        }
        return cached
    }

    /// The same, given the monotonic time now (read by the caller for its own use): the wall
    /// clock is read only when the second this estimates is not the cached one, so once per
    /// second (and the estimate is re-anchored then, should the wall clock have been stepped).
    mutating func current(at monotonicNow: NIODeadline) -> String {
        let monotonic = Int64(truncatingIfNeeded: monotonicNow.uptimeNanoseconds)
        let estimate = Int((monotonic &+ wallMinusMonotonic) / 1_000_000_000)
        if estimate == second { return cached }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let wall = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        wallMinusMonotonic = wall &- monotonic
        let seconds = Int(now.tv_sec)
        if seconds != second {
            second = seconds
            cached = Self.format(epochSeconds: seconds)
        }
        return cached
    }

    /// Calls `body` with the bytes of `current(at:)` (lent where they are: returning the string
    /// cost a retain and a release).
    mutating func withCurrentBytes<Result>(at monotonicNow: NIODeadline, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        _ = current(at: monotonicNow)
        let count = cached.utf8.count
        return cached.withCString { body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }

    static func format(epochSeconds: Int) -> String {
        var time = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = days[Int(parts.tm_wday) % 7]
        let month = months[Int(parts.tm_mon) % 12]
        return "\(day), \(two(parts.tm_mday)) \(month) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// Envoy's access-log START_TIME: `2024-04-15T20:17:00.310Z`.
    static func accessLogTimestamp(epochNanoseconds: Int64) -> String {
        var time = time_t(epochNanoseconds / 1_000_000_000)
        let millis = Int((epochNanoseconds / 1_000_000) % 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(millis, 3))Z"
    }

    static func wallClockNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
