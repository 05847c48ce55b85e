/// A small, fast, seedable generator (xoshiro256**) for per-event-loop decisions: endpoint
/// picks, fault percentages, retry jitter and request ids. One per event loop, never shared,
/// so it needs no lock; seeded so that `--seed` reproduces a run.
struct FastRandom: RandomNumberGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        // SplitMix64 expands the seed so that nearby seeds give unrelated streams.
        var x = seed
        func next() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = next(); s1 = next(); s2 = next(); s3 = next()
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A value in 0..<bound (bound > 0), without modulo bias worth caring about at these sizes.
    mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next() % UInt64(max(bound, 1)))
    }

    /// Whether an event with `percent` (0–100, fractional allowed) chance happens.
    mutating func chance(percent: Double) -> Bool {
        if percent >= 100 { return true }
        if percent <= 0 { return false }
        // Envoy draws from a million-wide range for fractional percentages.
        return Double(next() % 1_000_000) < percent * 10_000
    }
}
