/// What each rule of a table forwards to, laid out flat for the hot path: per rule, a plain
/// entry pointing into buffers of ready-made `Forward`s and of weights, so a decision copies
/// exactly one `Forward` (one reference count) and nothing else. Redirects and direct responses
/// are left to the rule itself. Sendable because nothing is written after `init`.
final class DecisionTable: @unchecked Sendable {
    struct Entry {
        enum Kind: UInt8 { case forward, weighted, other }
        var kind: Kind
        /// First of this rule's `Forward`s (and weights).
        var first: Int32
        var count: Int32
        /// The weighted set's first counter in a picker.
        var slot: Int32
        var total: UInt64
    }

    private let entries: UnsafeMutableBufferPointer<Entry>
    private let forwards: UnsafeMutableBufferPointer<Forward>
    private let weights: UnsafeMutableBufferPointer<UInt64>
    /// Cumulative weights (exclusive upper bounds), for Envoy's random walk.
    private let bounds: UnsafeMutableBufferPointer<UInt64>

    init(_ rules: [CompiledRule]) {
        var entries: [Entry] = []
        var forwards: [Forward] = []
        var weights: [UInt64] = []
        var bounds: [UInt64] = []
        for rule in rules {
            switch rule.action {
            case .forward(let forward):
                entries.append(Entry(kind: .forward, first: Int32(forwards.count), count: 1, slot: 0, total: 1))
                forwards.append(forward)
                weights.append(1)
                bounds.append(1)
            case .weighted(let set):
                entries.append(Entry(kind: .weighted, first: Int32(forwards.count), count: Int32(set.forwards.count), slot: Int32(set.slot), total: set.total))
                forwards += set.forwards
                weights += set.weights
                bounds += set.upperBounds
            case .redirect, .directResponse:
                entries.append(Entry(kind: .other, first: 0, count: 0, slot: 0, total: 0))
            }
        }
        self.entries = DecisionTable.copy(entries)
        self.forwards = DecisionTable.copy(forwards)
        self.weights = DecisionTable.copy(weights)
        self.bounds = DecisionTable.copy(bounds)
    }

    deinit {
        entries.deallocate()
        forwards.deinitialize()
        forwards.deallocate()
        weights.deallocate()
        bounds.deallocate()
    }

    private static func copy<T>(_ values: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, values.count))
        _ = buffer.initialize(from: values)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<values.count])
    }

    /// The forward decision of rule `index`, picking among weighted destinations with `picker`;
    /// nil when the rule redirects or answers directly.
    @inline(__always)
    func forward(rule index: Int, picker: inout DestinationPicker, epoch: PickerEpoch) -> Forward? {
        let entry = entries[index]
        switch entry.kind {
        case .forward:
            return forwards[Int(entry.first)]
        case .weighted:
            let first = Int(entry.first)
            let range = first..<(first + Int(entry.count))
            let i = picker.pick(
                slot: Int(entry.slot), weights: UnsafeBufferPointer(rebasing: weights[range]),
                bounds: UnsafeBufferPointer(rebasing: bounds[range]), total: entry.total, epoch: epoch)
            return forwards[first + i]
        case .other:
            return nil
        }
    }
}
