import Foundation
import NIOCore
import Testing

@testable import MeshProxy

/// `HTTPDateCache.current(at:)` tells the wall-clock second from the caller's monotonic reading
/// and reads the wall clock only when that second is not the cached one: whatever monotonic
/// time it is given, it answers the wall clock's date, never one it estimated wrongly.
@Suite struct HTTPDateCacheTests {
    /// Runs `body` until the wall-clock second is the same before and after it (at most three
    /// times: a second boundary can fall inside once), returning its result and that second.
    static func withinOneSecond<Result>(_ body: () -> Result) -> (Result, String)? {
        for _ in 0..<3 {
            let before = Int(Date().timeIntervalSince1970)
            let result = body()
            let after = Int(Date().timeIntervalSince1970)
            if before == after { return (result, HTTPDateCache.format(epochSeconds: before)) }
        }
        return nil
    }

    @Test func theDateFromAMonotonicReadingIsTheWallClocks() throws {
        var cache = HTTPDateCache()
        let first = try #require(Self.withinOneSecond { cache.current(at: .now()) })
        #expect(first.0 == first.1)
        // Served from the cache now, and still the wall clock's date.
        let cached = try #require(Self.withinOneSecond { cache.current(at: .now()) })
        #expect(cached.0 == cached.1)
        // A monotonic time the anchor puts in another second makes it read the wall clock again.
        let ahead = try #require(Self.withinOneSecond { cache.current(at: .now() + .seconds(10)) })
        #expect(ahead.0 == ahead.1)
        let back = try #require(Self.withinOneSecond { cache.current(at: .now()) })
        #expect(back.0 == back.1)
        let plain = try #require(Self.withinOneSecond { cache.current() })
        #expect(plain.0 == plain.1)
    }
}
