import Foundation

/// Hands out requests across all event loops: which class each one is (a fixed smooth weighted
/// round-robin order over the classes' weights) and, with `--requests`, when the measured ones
/// run out. One short lock per request; the loops share nothing else.
/// (`@unchecked`: the two counters are only touched under `lock`.)
final class TicketDispenser: @unchecked Sendable {
    private let lock = NSLock()
    private var issued = 0
    private var measured = 0
    let limit: Int?
    /// The class of each request in one window of `weight sum` requests.
    let classOrder: [Int]

    init(classWeights: [Int], limit: Int?) {
        self.limit = limit
        self.classOrder = Self.smoothWeightedOrder(classWeights)
    }

    /// The class of the next request, or nil once `limit` measured requests are out.
    func claim(measured: Bool) -> Int? {
        // One class and no limit: nothing to count, so no lock on the hot path.
        if limit == nil && classOrder.count == 1 { return 0 }
        lock.lock()
        defer { lock.unlock() }
        if measured {
            if let limit, self.measured >= limit { return nil }
            self.measured += 1
        }
        issued += 1
        return classOrder[(issued - 1) % classOrder.count]
    }

    /// Nginx's smooth weighted round-robin: each step every entry gains its weight, the largest
    /// is picked and loses the total. Over `sum` steps each entry appears exactly `weight` times,
    /// spread out rather than in runs.
    static func smoothWeightedOrder(_ weights: [Int]) -> [Int] {
        let total = weights.reduce(0, +)
        guard total > 0 else { return [0] }
        var current = [Int](repeating: 0, count: weights.count)
        var order: [Int] = []
        order.reserveCapacity(total)
        for _ in 0..<total {
            var best = 0
            for i in weights.indices {
                current[i] += weights[i]
                if current[i] > current[best] { best = i }
            }
            current[best] -= total
            order.append(best)
        }
        return order
    }
}
