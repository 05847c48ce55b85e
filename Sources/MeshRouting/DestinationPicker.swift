/// The weighted destinations of one route, compiled: relative weights (`weight / total`),
/// zero weights already removed. `slot` is this set's first counter in a picker's flat array.
final class WeightedSet: Sendable {
    let slot: Int
    let forwards: [Forward]
    let weights: [UInt64]
    /// Exclusive upper bound of each destination's range in `0..<total` (Envoy's walk).
    let upperBounds: [UInt64]
    let total: UInt64

    init(slot: Int, forwards: [Forward], weights: [UInt64]) {
        self.slot = slot
        self.forwards = forwards
        self.weights = weights
        var running: UInt64 = 0
        self.upperBounds = weights.map { running += $0; return running }
        self.total = running
    }
}

/// A snapshot's identity for pickers: a picker that meets a new snapshot resets its counters.
final class PickerEpoch: Sendable {
    let slotCount: Int
    init(slotCount: Int) { self.slotCount = slotCount }
}

/// Per-event-loop mutable state for weighted picks: a seeded generator (random mode, Envoy's
/// `random % total` over cumulative weights) or smooth-weighted-round-robin counters (exact
/// mode), keyed by the route's weighted set. One per event loop; never shared.
public struct DestinationPicker: Sendable {
    public enum Mode: Sendable, Hashable {
        case random(seed: UInt64)
        case exact
    }

    public let mode: Mode
    private var generator: SplitMix64
    /// Smooth weighted round robin "current weight" of every destination of every weighted set
    /// of the snapshot last used, flat, indexed by `WeightedSet.slot + i`.
    private var current: [Int64] = []
    private var epoch: PickerEpoch? = nil

    public init(mode: Mode) {
        self.mode = mode
        switch mode {
        case .random(let seed): generator = SplitMix64(seed: seed)
        case .exact: generator = SplitMix64(seed: 0)
        }
    }

    /// The index of the destination to use among `weights` (cumulative: `bounds`), whose
    /// counters start at `slot`.
    @inline(__always)
    mutating func pick(
        slot: Int, weights: UnsafeBufferPointer<UInt64>, bounds: UnsafeBufferPointer<UInt64>, total: UInt64, epoch: PickerEpoch
    ) -> Int {
        switch mode {
        case .random:
            // Envoy: a random value modulo the total weight, then the first destination whose
            // cumulative weight exceeds it.
            let value = generator.next() % total
            var i = 0
            while i < bounds.count - 1 && value >= bounds[i] { i += 1 }
            return i
        case .exact:
            if self.epoch !== epoch {
                // Counters of another snapshot mean nothing here; start over (allocates once per snapshot).
                current = Array(repeating: 0, count: epoch.slotCount)
                self.epoch = epoch
            }
            return smoothWeightedRoundRobin(slot: slot, weights: weights, total: total)
        }
    }

    /// nginx's smooth weighted round robin: every destination gains its weight, the largest
    /// current value wins and pays back the total. The sequence repeats every `total` picks and
    /// each period holds each destination exactly `weight` times, so any `total` consecutive
    /// picks do too.
    @inline(__always)
    private mutating func smoothWeightedRoundRobin(slot base: Int, weights: UnsafeBufferPointer<UInt64>, total: UInt64) -> Int {
        var best = 0
        var bestValue = Int64.min
        current.withUnsafeMutableBufferPointer { counters in
            for i in 0..<weights.count {
                counters[base + i] += Int64(weights[i])
                if counters[base + i] > bestValue {
                    bestValue = counters[base + i]
                    best = i
                }
            }
            counters[base + best] -= Int64(total)
        }
        return best
    }
}

/// SplitMix64 (Steele, Lea, Flood): a fast 64-bit generator whose whole state is one word, so a
/// seed reproduces a run exactly.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
