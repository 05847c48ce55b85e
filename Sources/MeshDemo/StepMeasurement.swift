import MeshLoad

/// Turns what one held step produced (the load report's split checks and latencies, the proxy's
/// counts, the pods' rejections) into its row.
public struct StepMeasurement: Sendable {
    public var stableSubset: String
    public var canarySubset: String
    public var split: DemoSettings.SplitMode
    public var thresholds: CanaryThresholds

    public init(stableSubset: String, canarySubset: String, split: DemoSettings.SplitMode, thresholds: CanaryThresholds) {
        self.stableSubset = stableSubset
        self.canarySubset = canarySubset
        self.split = split
        self.thresholds = thresholds
    }

    /// The load report's facts a row needs (its classes by the mix's names).
    public struct LoadFacts: Sendable {
        public var requests: Int
        public var noResponse: Int
        /// Why, e.g. ["timeout": 3].
        public var noResponseKinds: [String: Int]
        /// Requests due in the hold that the generator never sent (it fell behind).
        public var backlog: Int
        public var regular: SplitCheck
        public var beta: SplitCheck
        public var p99BySubset: [String: Double]

        public init(
            requests: Int, noResponse: Int, noResponseKinds: [String: Int] = [:], backlog: Int = 0, regular: SplitCheck,
            beta: SplitCheck, p99BySubset: [String: Double]
        ) {
            self.requests = requests
            self.noResponse = noResponse
            self.noResponseKinds = noResponseKinds
            self.backlog = backlog
            self.regular = regular
            self.beta = beta
            self.p99BySubset = p99BySubset
        }

        /// nil when the report lacks one of the classes.
        public init?(report: LoadReport, regularClass: String, betaClass: String) {
            guard let regular = report.classes.first(where: { $0.name == regularClass }),
                let beta = report.classes.first(where: { $0.name == betaClass })
            else { return nil }
            var p99: [String: Double] = [:]
            for group in report.bySubset {
                if let latency = group.latency { p99[group.key] = latency.p99Ms }
            }
            self.init(
                requests: report.requests, noResponse: report.errors.withoutResponse,
                noResponseKinds: StepMeasurement.noResponseKinds(report.errors), backlog: report.backlog ?? 0,
                regular: regular.split, beta: beta.split,
                p99BySubset: p99)
        }
    }

    public func row(
        type: String = "step", step: Int, canaryWeight: Int, revision: Int, seconds: Double, load: LoadFacts,
        traffic: ProxyTraffic, podRejections: [String: Int]
    ) -> StepRow {
        let splitObservation = observeSplit(load.regular, canaryWeight: canaryWeight)
        let stable = subset(stableSubset, load: load, traffic: traffic, podRejections: podRejections)
        let canary = subset(canarySubset, load: load, traffic: traffic, podRejections: podRejections)
        return StepRow(
            type: type, step: step, stableWeight: 100 - canaryWeight, canaryWeight: canaryWeight, revision: revision,
            seconds: seconds, requests: load.requests, noResponse: load.noResponse, noResponseKinds: load.noResponseKinds,
            backlog: load.backlog, split: splitObservation,
            beta: observeBeta(load.beta), stable: stable, canary: canary, breaches: thresholds.breaches(of: canary))
    }

    /// Requests without a response, by why (the load generator's error kinds), zeros left out.
    public static func noResponseKinds(_ errors: ErrorCounts) -> [String: Int] {
        let all = ["connect": errors.connect, "timeout": errors.timeout, "reset": errors.reset, "closed": errors.closed, "protocol": errors.protocol]
        return all.filter { $0.value > 0 }
    }

    func subset(_ name: String, load: LoadFacts, traffic: ProxyTraffic, podRejections: [String: Int]) -> SubsetObservation {
        SubsetObservation(
            subset: name, answers: traffic.answers(of: name), errors: traffic.serverErrors(of: name),
            p99Milliseconds: load.p99BySubset[name], podRejections: podRejections[name] ?? 0)
    }

    /// The canary's share of the regular answers against its weight.
    public func observeSplit(_ check: SplitCheck, canaryWeight: Int) -> SplitObservation {
        let share = check.subsets.first { $0.subset == canarySubset }
        let count = share?.observedCount ?? 0
        let answered = check.answered
        let interval =
            share?.interval ?? SplitStatistics.wilsonInterval(successes: 0, trials: answered) ?? ProportionInterval(low: 0, high: 1)
        let configured = Double(canaryWeight) / 100
        var exactHolds: Bool?
        if split == .exact {
            // Smooth weighted round robin keeps every prefix within one of its share; a weight of 0
            // or 100 leaves one destination, so no slack. A request without a response may or may
            // not have been picked.
            let slack = canaryWeight == 0 || canaryWeight == 100 ? 0.0 : 1.0
            let tolerance = slack + Double(check.withoutDestination)
            exactHolds = answered > 0 && abs(Double(count) - Double(answered) * configured) <= tolerance
        }
        let consistent = exactHolds ?? (check.verdict == .pass)
        return SplitObservation(
            answered: answered, withoutDestination: check.withoutDestination, canaryCount: count,
            canaryShare: answered > 0 ? Double(count) / Double(answered) : 0, interval: interval, configuredShare: configured,
            configuredWithinInterval: answered > 0 && interval.contains(configured), pValue: check.pValue,
            exactCountHolds: exactHolds, consistent: consistent)
    }

    public func observeBeta(_ check: SplitCheck) -> BetaObservation {
        var subsets: [String: Int] = [:]
        for share in check.subsets where share.observedCount > 0 { subsets[share.subset] = share.observedCount }
        return BetaObservation(
            answered: check.answered, withoutDestination: check.withoutDestination, subsets: subsets,
            allOnCanary: check.answered > 0 && subsets.keys.allSatisfy { $0 == canarySubset })
    }
}
