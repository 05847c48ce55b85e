import MeshProxy

/// What the proxy answered between two stats snapshots, grouped by subset, status and response
/// flags. Steps run one after another with no traffic in between, so the difference of the
/// snapshots taken around a step is exactly that step's requests.
public struct ProxyTraffic: Sendable, Hashable {
    public struct Outcome: Sendable, Hashable, Comparable {
        /// nil when the request reached no cluster (no route, direct response).
        public var subset: String?
        public var status: Int
        public var flags: ResponseFlags

        public init(subset: String?, status: Int, flags: ResponseFlags) {
            self.subset = subset
            self.status = status
            self.flags = flags
        }

        public static func < (a: Outcome, b: Outcome) -> Bool {
            (a.subset ?? "", a.status, a.flags.rawValue) < (b.subset ?? "", b.status, b.flags.rawValue)
        }
    }

    public var counts: [Outcome: Int]

    public init(counts: [Outcome: Int]) {
        self.counts = counts
    }

    /// `after` minus `before`; `subsetOfCluster` names the subset of a cluster (nil: not one of the
    /// demo's, counted under its cluster name).
    public init(before: StatsSnapshot, after: StatsSnapshot, subsetOfCluster: (String) -> String?) {
        var counts: [Outcome: Int] = [:]
        for (key, stats) in after.requests {
            let previous = before.requests[key]?.count ?? 0
            let delta = Int(stats.count) - Int(previous)
            guard delta > 0 else { continue }
            let subset = key.cluster.map { subsetOfCluster($0) ?? $0 }
            counts[Outcome(subset: subset, status: key.responseCode, flags: key.responseFlags), default: 0] += delta
        }
        self.counts = counts
    }

    public var total: Int { counts.values.reduce(0, +) }

    public func answers(of subset: String) -> Int {
        counts.filter { $0.key.subset == subset }.values.reduce(0, +)
    }

    public func serverErrors(of subset: String) -> Int {
        counts.filter { $0.key.subset == subset && $0.key.status >= 500 }.values.reduce(0, +)
    }

    /// A failure the subset's pods answered themselves: a 5xx that came from upstream, possibly
    /// after the proxy's retries ran out (URX), and no flag of a failure the proxy made
    /// (no healthy upstream, connect failure, reset, overflow, timeout, no route…).
    public static func isOwnAnswer(_ outcome: Outcome, of subset: String) -> Bool {
        outcome.subset == subset && outcome.status >= 500 && outcome.flags.subtracting(.upstreamRetryLimitExceeded).isEmpty
    }

    /// Failures (4xx and 5xx) other than `subset`'s own answers, with a label each.
    public func failures(notAnsweredBy subset: String) -> [String: Int] {
        var kinds: [String: Int] = [:]
        for (outcome, count) in counts where outcome.status >= 400 && !Self.isOwnAnswer(outcome, of: subset) {
            kinds["\(outcome.status) \(outcome.flags) (\(outcome.subset ?? "no cluster"))", default: 0] += count
        }
        return kinds
    }

    public func ownFailures(of subset: String) -> Int {
        counts.filter { Self.isOwnAnswer($0.key, of: subset) }.values.reduce(0, +)
    }
}
