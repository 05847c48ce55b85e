@testable import MeshHTTP2
import NIOCore
import Testing

/// The rapid-reset guard: a burst is allowed, then resets are allowed only at the refill rate.
@Suite struct ResetRateLimiterTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// Which of the resets, received at the given times, the limiter lets through.
    static func verdicts(_ limiter: inout ResetRateLimiter, at times: [NIODeadline]) -> [Bool] {
        times.map { limiter.take(now: $0) }
    }

    @Test func allowsTheBurstThenRefusesUntilRefilled() {
        var limiter = ResetRateLimiter(burst: 3, ratePerSecond: 10, now: start)
        // 10 per second: one token 100 ms after the burst is spent, not before.
        let verdicts = Self.verdicts(&limiter, at: [
            start, start, start, start,
            start + .milliseconds(50), start + .milliseconds(150), start + .milliseconds(160),
        ])
        #expect(verdicts == [true, true, true, false, false, true, false])
    }

    @Test func refillStopsAtTheBurst() {
        var limiter = ResetRateLimiter(burst: 2, ratePerSecond: 100, now: start)
        // An hour idle refills to the burst, no more.
        let later = start + .seconds(3600)
        #expect(Self.verdicts(&limiter, at: [later, later, later]) == [true, true, false])
    }
}
