import Atomics
import MeshRouting

/// One endpoint's consecutive-error counters (Envoy's DetectorHostMonitorImpl), shared by every
/// worker of the cluster: each worker bumps them with an atomic increment as its requests finish,
/// so a host's errors add up whichever event loops forwarded them. Exactly one increment lands on
/// a threshold; that one asks the detector for the ejection decision. A success costs a relaxed
/// load per counter and a store only when the counter is not already zero.
final class OutlierHostMonitor: Sendable {
    /// Which thresholds one result reached, in the order Envoy reports them.
    struct Reached: OptionSet, Sendable {
        let rawValue: UInt8
        static let consecutiveGatewayFailure = Reached(rawValue: 1 << 0)
        static let consecutive5xx = Reached(rawValue: 1 << 1)
        static let consecutiveLocalOriginFailure = Reached(rawValue: 1 << 2)

        /// The ejection types, gateway before 5xx as Envoy checks them.
        var types: [OutlierEjectionType] {
            var types: [OutlierEjectionType] = []
            if contains(.consecutiveGatewayFailure) { types.append(.consecutiveGatewayFailure) }
            if contains(.consecutive5xx) { types.append(.consecutive5xx) }
            if contains(.consecutiveLocalOriginFailure) { types.append(.consecutiveLocalOriginFailure) }
            return types
        }
    }

    let address: EndpointAddress
    private let consecutive5xx = ManagedAtomic<UInt32>(0)
    private let consecutiveGatewayFailures = ManagedAtomic<UInt32>(0)
    private let consecutiveLocalOriginFailures = ManagedAtomic<UInt32>(0)
    /// Set and cleared by the detector under its lock; read by every worker's balancer.
    private let ejected = ManagedAtomic<Bool>(false)

    init(address: EndpointAddress) {
        self.address = address
    }

    var isEjected: Bool { ejected.load(ordering: .acquiring) }

    func setEjected(_ value: Bool) {
        ejected.store(value, ordering: .releasing)
    }

    /// Counts a response's status (after the policy's mapping): a 5xx adds to the 5xx count, a
    /// 502/503/504 also to the gateway count (another 5xx clears it), anything else clears both.
    func countResponse(status: Int, policy: OutlierPolicy) -> Reached {
        guard (500..<600).contains(status) else {
            Self.clear(consecutive5xx)
            Self.clear(consecutiveGatewayFailures)
            return []
        }
        var reached: Reached = []
        if status == 502 || status == 503 || status == 504 {
            if Self.increment(consecutiveGatewayFailures, reaches: policy.consecutiveGatewayFailure) {
                reached.insert(.consecutiveGatewayFailure)
            }
        } else {
            Self.clear(consecutiveGatewayFailures)
        }
        if Self.increment(consecutive5xx, reaches: policy.consecutive5xx) { reached.insert(.consecutive5xx) }
        return reached
    }

    /// A connect failure, reset or timeout, counted on its own (`splitExternalLocalOriginErrors`).
    func countLocalOriginFailure(policy: OutlierPolicy) -> Reached {
        Self.increment(consecutiveLocalOriginFailures, reaches: policy.consecutiveLocalOriginFailure) ? .consecutiveLocalOriginFailure : []
    }

    /// A connection was ready for an attempt: clears the split local-origin count.
    func countLocalOriginSuccess() {
        Self.clear(consecutiveLocalOriginFailures)
    }

    /// Starts the counter that fired again (the detector, deciding on it).
    func resetCounter(for type: OutlierEjectionType) {
        switch type {
        case .consecutive5xx: consecutive5xx.store(0, ordering: .relaxed)
        case .consecutiveGatewayFailure: consecutiveGatewayFailures.store(0, ordering: .relaxed)
        case .consecutiveLocalOriginFailure: consecutiveLocalOriginFailures.store(0, ordering: .relaxed)
        }
    }

    /// Clears every count (a host returning to service).
    func resetCounters() {
        for type in OutlierEjectionType.allCases { resetCounter(for: type) }
    }

    /// Envoy's `++counter == threshold`: only the increment that lands on the threshold fires, so
    /// errors past it (a host already ejected) do not fire again until the count is cleared.
    private static func increment(_ counter: ManagedAtomic<UInt32>, reaches threshold: UInt32) -> Bool {
        counter.wrappingIncrementThenLoad(ordering: .relaxed) == threshold && threshold > 0
    }

    private static func clear(_ counter: ManagedAtomic<UInt32>) {
        if counter.load(ordering: .relaxed) != 0 { counter.store(0, ordering: .relaxed) }
    }
}
