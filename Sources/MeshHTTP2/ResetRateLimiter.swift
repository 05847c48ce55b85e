import NIOCore

/// Token bucket for the RST_STREAM frames a peer sends (the "rapid reset" flood, CVE-2023-44487):
/// `burst` resets at once, refilled at `ratePerSecond`; an empty bucket means the peer resets
/// faster than any client that means well.
struct ResetRateLimiter {
    private let burst: Double
    private let ratePerSecond: Double
    private var tokens: Double
    private var updated: NIODeadline

    init(burst: Int, ratePerSecond: Int, now: NIODeadline = .now()) {
        self.burst = Double(burst)
        self.ratePerSecond = Double(ratePerSecond)
        self.tokens = Double(burst)
        self.updated = now
    }

    /// Takes one token for a reset received at `now`; false when none is left.
    mutating func take(now: NIODeadline = .now()) -> Bool {
        let elapsed = Double((now - updated).nanoseconds) / 1e9
        updated = now
        tokens = min(burst, tokens + max(0, elapsed) * ratePerSecond)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
