import MeshRouting
import NIOCore

/// Envoy's consecutive-error outlier detection for one cluster on one event loop
/// (source/common/upstream/outlier_detection_impl.cc): per-host counters of consecutive 5xx,
/// gateway errors and locally originated failures, reset by a success; an ejection when one
/// reaches its threshold, bounded by `maxEjectionPercent`; un-ejection by a sweep every
/// `interval` once `baseEjectionTime × backoff` (at most `maxEjectionTime`) has passed.
///
/// Envoy counts errors across its workers and decides on its main thread; meshsim keeps one
/// detector per event loop, so each worker counts only the requests it forwards and ejects on its
/// own, and no lock is taken on the request path. With one worker this is Envoy's behaviour;
/// with N, a failing host may take up to N × threshold errors before every worker ejects it.
///
/// A plain state machine: time comes in as an argument, so it is tested without sockets or clocks.
final class OutlierDetector {
    /// What an upstream attempt told about its endpoint.
    enum Outcome: Equatable {
        /// A response head, with `grpc-status` when a gRPC answer carries it in the head.
        case response(status: Int, grpcStatus: Int?)
        /// A connection to the endpoint was ready for the attempt (Envoy's LocalOriginConnectSuccess).
        case connected
        /// Connect failure or a reset (Envoy's LocalOriginConnectFailed; 503 unless split).
        case connectFailed
        /// A per-try or route timeout before the response head (LocalOriginTimeout; 504 unless split).
        case timedOut
    }

    struct Transition: Equatable {
        enum Change: Equatable {
            /// `duration`: how long until the host may return (the next sweep after it returns it).
            case ejected(OutlierEjectionType, duration: TimeAmount)
            /// `after`: how long the host was out.
            case returned(after: TimeAmount)
        }

        var host: Int
        var change: Change
    }

    /// One endpoint's state (Envoy's DetectorHostMonitorImpl).
    struct Host {
        /// nil for an endpoint without an address: not a host, never counted.
        var address: EndpointAddress?
        var consecutive5xx: UInt32 = 0
        var consecutiveGatewayFailures: UInt32 = 0
        var consecutiveLocalOriginFailures: UInt32 = 0
        /// When the current ejection began; nil while in service.
        var ejectedAt: NIODeadline?
        var returnedAt: NIODeadline?
        /// Envoy's `num_ejections`.
        var ejections = 0
        /// Envoy's `eject_time_backoff`: the ejection time is `base × backoff`; it grows with each
        /// ejection and decays by one per interval the host stays in service.
        var backoff: Int64 = 0

        init(address: EndpointAddress?) {
            self.address = address
        }

        var isEjected: Bool { ejectedAt != nil }

        mutating func resetCounters() {
            consecutive5xx = 0
            consecutiveGatewayFailures = 0
            consecutiveLocalOriginFailures = 0
        }
    }

    let policy: OutlierPolicy
    /// Parallel to the cluster's endpoints.
    private(set) var hosts: [Host]
    private(set) var ejectedCount = 0
    /// Endpoints with an address: Envoy's host count for `maxEjectionPercent`.
    private(set) var hostCount = 0
    var stats: StatsSnapshot.OutlierDetectionStats

    init(policy: OutlierPolicy, addresses: [EndpointAddress?], stats: StatsSnapshot.OutlierDetectionStats = .init()) {
        self.policy = policy
        self.hosts = addresses.map(Host.init(address:))
        self.stats = stats
        hostCount = hosts.filter { $0.address != nil }.count
    }

    func isEjected(_ index: Int) -> Bool {
        index >= 0 && index < hosts.count && hosts[index].isEjected
    }

    func isEjected(address: EndpointAddress) -> Bool {
        ejectedCount > 0 && hosts.contains { $0.address == address && $0.isEjected }
    }

    /// Follows a new endpoint list: hosts that stay (by address) keep their state, as Envoy keeps
    /// host monitors across endpoint updates; new ones start clean.
    func reassign(addresses: [EndpointAddress?]) {
        var previous: [EndpointAddress: Host] = [:]
        for host in hosts {
            if let address = host.address, previous[address] == nil { previous[address] = host }
        }
        hosts = addresses.map { address in
            address.flatMap { previous.removeValue(forKey: $0) } ?? Host(address: address)
        }
        ejectedCount = hosts.filter(\.isEjected).count
        hostCount = hosts.filter { $0.address != nil }.count
    }

    /// Records one result for `host` (an index of the cluster's endpoints); returns the ejection
    /// it caused, if any.
    func record(_ outcome: Outcome, host index: Int, now: NIODeadline) -> [Transition] {
        guard index >= 0, index < hosts.count, hosts[index].address != nil else { return [] }
        var detected: [OutlierEjectionType] = []
        switch outcome {
        case .response(let status, let grpcStatus):
            count(status: policy.reportedStatus(httpStatus: status, grpcStatus: grpcStatus), host: index, detected: &detected)
        case .connected:
            if policy.splitExternalLocalOriginErrors { hosts[index].consecutiveLocalOriginFailures = 0 }
        case .connectFailed:
            countLocalOriginFailure(orStatus: 503, host: index, detected: &detected)
        case .timedOut:
            countLocalOriginFailure(orStatus: 504, host: index, detected: &detected)
        }
        return detected.compactMap { detection($0, host: index, now: now) }
    }

    /// Envoy's interval timer: returns hosts whose ejection time has passed, and lets the backoff of
    /// hosts in service for a whole interval decay by one.
    func sweep(now: NIODeadline) -> [Transition] {
        var transitions: [Transition] = []
        for index in hosts.indices {
            guard let ejectedAt = hosts[index].ejectedAt else { continue }
            let out = now - ejectedAt
            guard out >= ejectionTime(of: hosts[index]) else { continue }
            hosts[index].ejectedAt = nil
            hosts[index].returnedAt = now
            // Envoy clears the counters so that a few errors do not eject the host again at once.
            hosts[index].resetCounters()
            ejectedCount -= 1
            transitions.append(Transition(host: index, change: .returned(after: out)))
        }
        for index in hosts.indices where !hosts[index].isEjected && hosts[index].backoff > 0 {
            if let returnedAt = hosts[index].returnedAt, now - returnedAt >= policy.interval {
                hosts[index].backoff -= 1
            }
        }
        return transitions
    }

    /// `min(base × backoff, maxEjectionTime)`.
    func ejectionTime(of host: Host) -> TimeAmount {
        let (product, overflow) = policy.baseEjectionTime.nanoseconds.multipliedReportingOverflow(by: host.backoff)
        if overflow { return policy.maxEjectionTime }
        return min(.nanoseconds(product), policy.maxEjectionTime)
    }

    // MARK: counting (DetectorHostMonitorImpl)

    private func count(status: Int, host index: Int, detected: inout [OutlierEjectionType]) {
        guard (500..<600).contains(status) else {
            hosts[index].consecutive5xx = 0
            hosts[index].consecutiveGatewayFailures = 0
            return
        }
        if status == 502 || status == 503 || status == 504 {
            hosts[index].consecutiveGatewayFailures &+= 1
            let threshold = policy.consecutiveGatewayFailure
            if threshold > 0 && hosts[index].consecutiveGatewayFailures == threshold { detected.append(.consecutiveGatewayFailure) }
        } else {
            hosts[index].consecutiveGatewayFailures = 0
        }
        hosts[index].consecutive5xx &+= 1
        let threshold = policy.consecutive5xx
        if threshold > 0 && hosts[index].consecutive5xx == threshold { detected.append(.consecutive5xx) }
    }

    /// Unless split, a locally originated failure counts as the status Envoy maps it to.
    private func countLocalOriginFailure(orStatus status: Int, host index: Int, detected: inout [OutlierEjectionType]) {
        guard policy.splitExternalLocalOriginErrors else {
            count(status: status, host: index, detected: &detected)
            return
        }
        hosts[index].consecutiveLocalOriginFailures &+= 1
        let threshold = policy.consecutiveLocalOriginFailure
        if threshold > 0 && hosts[index].consecutiveLocalOriginFailures == threshold { detected.append(.consecutiveLocalOriginFailure) }
    }

    // MARK: deciding (DetectorImpl)

    /// A threshold was reached: counted as detected, then ejected if the percent bound and the
    /// enforcement allow; the counter that fired starts again.
    private func detection(_ type: OutlierEjectionType, host index: Int, now: NIODeadline) -> Transition? {
        // An ejected host's counters keep running past the threshold without a second ejection.
        guard !hosts[index].isEjected else { return nil }
        stats.noteDetected(type)
        let transition = eject(index, type: type, now: now)
        switch type {
        case .consecutive5xx:
            stats.ejectionsConsecutive5xx += 1
            hosts[index].consecutive5xx = 0
        case .consecutiveGatewayFailure:
            hosts[index].consecutiveGatewayFailures = 0
        case .consecutiveLocalOriginFailure:
            hosts[index].consecutiveLocalOriginFailures = 0
        }
        return transition
    }

    private func eject(_ index: Int, type: OutlierEjectionType, now: NIODeadline) -> Transition? {
        // Envoy (since 1.27) bounds the share after this ejection strictly; Istio never sets
        // `always_eject_one_host`, so with the default 10% a cluster of fewer than 10 hosts
        // ejects nothing.
        let ejectedPercent = 100.0 * Double(ejectedCount + 1) / Double(max(hostCount, 1))
        guard ejectedPercent <= Double(policy.maxEjectionPercent) else {
            stats.ejectionsOverflow += 1
            return nil
        }
        if type == .consecutive5xx { stats.ejectionsTotal += 1 }
        guard policy.enforces(type) else { return nil }
        ejectedCount += 1
        stats.noteEnforced(type)
        hosts[index].ejectedAt = now
        hosts[index].ejections += 1
        let base = policy.baseEjectionTime.nanoseconds
        let (scaled, overflow) = base.multipliedReportingOverflow(by: hosts[index].backoff)
        if !overflow && scaled < policy.maxEjectionTime.nanoseconds &+ base { hosts[index].backoff += 1 }
        return Transition(host: index, change: .ejected(type, duration: ejectionTime(of: hosts[index])))
    }
}
