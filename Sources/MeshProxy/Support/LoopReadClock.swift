import NIOCore

/// The clock as one event loop's HTTP/1.1 handlers read it for the events of one socket read
/// (`MeshHTTP2.ReadClock`, shared by the loop's downstream and upstream connections): once, the
/// first time an event asks, and that reading for every later event of the read. An HTTP/1.1
/// request read the clock for its start, its response head, its end and the connection's idle
/// timer (the last three all in the upstream read that carried the response); the events of one
/// read differ from its reading by the time it takes to handle the rest of that read, far below
/// the milliseconds durations and timeouts are counted in. Outside a read every call reads the
/// clock.
/// Only its loop touches it (`@unchecked Sendable`: the upstream connection's factory closure
/// is `@Sendable`, and runs on that loop too).
final class LoopReadClock: @unchecked Sendable {
    /// Reads begun and not ended: a read handled inside another's keeps the outer one's reading.
    private var depth = 0
    private var reading: NIODeadline?

    /// A socket read's bytes are about to be handled.
    @inline(__always)
    func beginRead() {
        if depth == 0 { reading = nil }
        depth += 1
    }

    @inline(__always)
    func endRead() {
        depth -= 1
        if depth == 0 { reading = nil }
    }

    func now() -> NIODeadline {
        guard depth > 0 else { return .now() }
        if let reading { return reading }
        let time = NIODeadline.now()
        reading = time
        return time
    }
}
