import MeshLoad

// `meshsim demo --output json` prints one JSON object per line, in this order: a `plan`, a
// `step` per step held, then (when the canary breached) a `rollback` and an `after-rollback`
// step, and a `summary`. Every object has `type`. Shares are fractions; times are milliseconds
// or seconds as named.

/// One subset's answers during a step, as the proxy counted them (answers, 5xx) and as the load
/// generator timed them (p99, from each request's intended send time).
public struct SubsetObservation: Sendable, Hashable, Codable {
    public var subset: String
    /// Responses the subset's pods gave through the proxy (any status).
    public var answers: Int
    /// Of those, 5xx.
    public var errors: Int
    public var errorRate: Double
    public var p99Milliseconds: Double?
    /// Attempts the subset's pods refused over their max-concurrency, retries included: what the
    /// proxy's retries hid and what they did not.
    public var podRejections: Int

    public init(subset: String, answers: Int, errors: Int, p99Milliseconds: Double?, podRejections: Int = 0) {
        self.subset = subset
        self.answers = answers
        self.errors = errors
        self.errorRate = answers > 0 ? Double(errors) / Double(answers) : 0
        self.p99Milliseconds = p99Milliseconds
        self.podRejections = podRejections
    }
}

/// Where the regular (non-beta) requests went, against the step's weights.
public struct SplitObservation: Sendable, Hashable, Codable {
    /// Regular answers that named a destination.
    public var answered: Int
    /// Regular requests without one (no response at all).
    public var withoutDestination: Int
    public var canaryCount: Int
    public var canaryShare: Double
    /// 99% Wilson interval of `canaryShare`.
    public var interval: ProportionInterval
    /// The canary's weight as a fraction.
    public var configuredShare: Double
    public var configuredWithinInterval: Bool
    /// Chi-square goodness of fit against the weights (nil when only one subset is expected).
    public var pValue: Double?
    /// Exact split mode only: whether the count is the weight's share of the answers to within
    /// one (smooth weighted round robin keeps every prefix that close).
    public var exactCountHolds: Bool?
    /// The verdict: exact count (exact mode) or chi-square p ≥ alpha and no answer from a subset of
    /// weight 0 (random mode).
    public var consistent: Bool
}

/// Where the beta users' requests went: all to the canary, whatever the weights.
public struct BetaObservation: Sendable, Hashable, Codable {
    public var answered: Int
    public var withoutDestination: Int
    /// Answers per subset.
    public var subsets: [String: Int]
    public var allOnCanary: Bool
}

/// One held step (`type` "step"), or the check after a rollback (`type` "after-rollback").
public struct StepRow: Sendable, Hashable, Codable {
    public var type: String
    /// 1-based, in the order held.
    public var step: Int
    public var stableWeight: Int
    public var canaryWeight: Int
    /// The routes' revision the proxy served.
    public var revision: Int
    public var seconds: Double
    /// Requests sent (all classes) and those that got no response at all.
    public var requests: Int
    public var noResponse: Int
    /// Why they got none: "connect", "timeout", "reset", "closed", "protocol".
    public var noResponseKinds: [String: Int]
    /// Requests due during the hold that the load generator never sent: it fell behind, usually
    /// because the machine is busy; the step's traffic then came in bursts.
    public var backlog: Int
    public var split: SplitObservation
    public var beta: BetaObservation
    public var stable: SubsetObservation
    public var canary: SubsetObservation
    /// Thresholds the canary crossed; empty when healthy.
    public var breaches: [String]
}

/// The rollback and its window: load ran on the breaching routes, then the all-stable routes
/// were applied as one snapshot swap while requests were in flight.
public struct RollbackRow: Sendable, Hashable, Codable {
    public var type = "rollback"
    /// The step whose canary breached.
    public var afterStep: Int
    public var fromCanaryWeight: Int
    public var revisionBefore: Int
    public var revisionAfter: Int
    /// From the apply call to every proxy event loop serving the new routes.
    public var applyMilliseconds: Double
    /// Requests the proxy had in flight to the canary when the swap began; they finish on it.
    public var canaryInFlightAtSwap: Int
    public var windowSeconds: Double
    public var requests: Int
    /// Failures in the window that are the canary's own answers (its pods' 503s), before the swap
    /// or from beta users after it.
    public var canaryOwnFailures: Int
    /// Every other failure in the window: no response, or an error the proxy made itself. The
    /// rollback is clean when this is 0.
    public var rollbackCausedFailures: Int
    /// What those were, e.g. "no response: reset" or "503 UH (no subset)".
    public var rollbackCausedKinds: [String: Int]
}

/// Thresholds and scenario facts, first.
public struct PlanRow: Sendable, Hashable, Codable {
    public var type = "plan"
    public var host: String
    public var stableSubset: String
    public var canarySubset: String
    public var rate: Double
    public var holdSeconds: Double
    public var steps: [Int]
    public var betaShare: Double
    public var thresholds: CanaryThresholds
    public var seed: UInt64
    /// "random" or "exact".
    public var splitMode: String
    public var proxyAddress: String
    public var scenarioDirectory: String
    /// Requests the canary's pods accept at once, summed (nil: some pod has no limit).
    public var canaryCapacity: Int?
    public var canaryMeanLatencyMilliseconds: Double?
    /// Little's law per step: rate × canary share × mean latency.
    public var expectedCanaryInFlight: [Double]
    /// Pods per subset with their behaviour, e.g. "reviews-v2 ×2: latency …, max-concurrency 18".
    public var workloads: [String]
}

/// A command to reproduce a step by hand.
public struct ReproductionStep: Sendable, Hashable, Codable {
    public var step: Int
    public var canaryWeight: Int
    public var commands: [String]
}

/// The end: what happened and how to do it again by hand.
public struct SummaryRow: Sendable, Hashable, Codable {
    public var type = "summary"
    /// The 1-based step whose canary crossed a threshold, if one did.
    public var breachedAtStep: Int?
    public var rolledBack: Bool
    /// The highest canary weight held with a healthy canary.
    public var lastHealthyCanaryWeight: Int?
    public var completed: Bool
    /// The demo's own checks that failed (split, beta routing, rollback); empty when all held.
    public var failedChecks: [String]
    public var passed: Bool
    public var scenarioDirectory: String
    public var reproduce: [ReproductionStep]
    public var curl: [String]
}
