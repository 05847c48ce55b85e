import Atomics
import MeshRouting
import NIOConcurrencyHelpers
import NIOCore

/// Envoy's consecutive-error outlier detection for one cluster (DetectorImpl in
/// source/common/upstream/outlier_detection_impl.cc), shared by every worker of the proxy:
/// per-host counters of consecutive 5xx, gateway errors and locally originated failures (in
/// `OutlierHostMonitor`), reset by a success; an ejection when one reaches its threshold, bounded
/// by `maxEjectionPercent`; un-ejection by a sweep every `interval` once
/// `baseEjectionTime × backoff` (at most `maxEjectionTime`) has passed.
///
/// As in Envoy, the workers count a host's errors together and the decision is made once for the
/// cluster. Counting is lock-free (atomics on the host's monitor); only the increment that reaches
/// a threshold takes the detector's lock to decide (Envoy posts that to its main thread), and the
/// sweep takes it once per interval. An ejection sets the host's flag and bumps `epoch`, which each
/// worker's balancer checks before it picks, so every worker leaves the host out from its next pick.
///
/// The proxy publishes one detector per cluster with each config revision
/// (`OutlierDetectorRegistry`); the first worker's loop runs the sweep (see `ClusterRuntime`).
/// Time comes in as an argument, so it is tested without sockets or clocks.
final class OutlierDetector: Sendable {
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

        var host: EndpointAddress
        var change: Change
        /// The host's ejections so far (Envoy's `num_ejections`).
        var ejections: Int
    }

    /// One member host's ejection state, kept under the lock (the rest of DetectorHostMonitorImpl).
    struct HostRecord {
        let monitor: OutlierHostMonitor
        /// When the current ejection began; nil while in service.
        var ejectedAt: NIODeadline?
        var returnedAt: NIODeadline?
        var ejections = 0
        /// Envoy's `eject_time_backoff`: the ejection time is `base × backoff`; it grows with each
        /// ejection and decays by one per interval the host stays in service.
        var backoff: Int64 = 0

        func transition(_ change: Transition.Change) -> Transition {
            Transition(host: monitor.address, change: change, ejections: ejections)
        }
    }

    private struct State {
        /// The cluster's hosts (endpoints with an address, each once), in endpoint order.
        var hosts: [HostRecord] = []
        var indexByAddress: [EndpointAddress: Int] = [:]
        var ejectedCount = 0
        /// Set when new outlier settings replaced this detector: it decides nothing more.
        var retired = false

        func index(of monitor: OutlierHostMonitor) -> Int? {
            guard let index = indexByAddress[monitor.address], hosts[index].monitor === monitor else { return nil }
            return index
        }
    }

    let policy: OutlierPolicy
    private let state = NIOLockedValueBox(State())
    /// Bumped after every change of a host's ejected flag; the balancers recompute their
    /// candidates when it moved.
    private let changes = ManagedAtomic<UInt64>(0)

    init(policy: OutlierPolicy) {
        self.policy = policy
    }

    /// Read by a worker before it picks; the flags it reads after this are at least as new.
    var epoch: UInt64 { changes.load(ordering: .acquiring) }

    /// Number of hosts ejected now.
    var ejectedCount: Int { state.withLockedValue { $0.ejectedCount } }
    /// Envoy's host count for `maxEjectionPercent`.
    var hostCount: Int { state.withLockedValue { $0.hosts.count } }

    /// A member host's ejection state; nil for an address not in the cluster.
    func hostRecord(for address: EndpointAddress) -> HostRecord? {
        state.withLockedValue { state in state.indexByAddress[address].map { state.hosts[$0] } }
    }

    func isEjected(address: EndpointAddress) -> Bool {
        hostRecord(for: address)?.monitor.isEjected ?? false
    }

    /// Makes `addresses` the cluster's hosts and returns their monitors, parallel to `addresses`
    /// (nil where an endpoint has no address). Hosts that stay keep their counts and ejection, as
    /// Envoy keeps host monitors across endpoint updates; new ones start clean; ones that left
    /// are no longer counted (a worker still serving the older list may report into their monitors,
    /// which decide nothing).
    func adopt(addresses: [EndpointAddress?]) -> [OutlierHostMonitor?] {
        state.withLockedValue { state in
            var hosts: [HostRecord] = []
            var indexByAddress: [EndpointAddress: Int] = [:]
            let monitors = addresses.map { address -> OutlierHostMonitor? in
                guard let address else { return nil }
                if let index = indexByAddress[address] { return hosts[index].monitor }
                let record = state.indexByAddress[address].map { state.hosts[$0] } ?? HostRecord(monitor: OutlierHostMonitor(address: address))
                indexByAddress[address] = hosts.count
                hosts.append(record)
                return record.monitor
            }
            state.hosts = hosts
            state.indexByAddress = indexByAddress
            state.ejectedCount = hosts.filter { $0.ejectedAt != nil }.count
            return monitors
        }
    }

    /// Counts one result for `host` and, if it reached a threshold, decides on the ejection; returns
    /// the ejection it caused, if any. The decision's counters go to `stats` (the worker's own, which
    /// the admin server sums). `now` is read only when a threshold is reached.
    func record(
        _ outcome: Outcome, host: OutlierHostMonitor, now: @autoclosure () -> NIODeadline, stats: inout StatsSnapshot.OutlierDetectionStats
    ) -> [Transition] {
        let reached: OutlierHostMonitor.Reached
        switch outcome {
        case .response(let status, let grpcStatus):
            reached = host.countResponse(status: policy.reportedStatus(httpStatus: status, grpcStatus: grpcStatus), policy: policy)
        case .connected:
            guard policy.splitExternalLocalOriginErrors else { return [] }
            host.countLocalOriginSuccess()
            return []
        case .connectFailed:
            reached = countLocalOriginFailure(orStatus: 503, host: host)
        case .timedOut:
            reached = countLocalOriginFailure(orStatus: 504, host: host)
        }
        if reached.isEmpty { return [] }
        return decide(reached.types, host: host, now: now(), stats: &stats)
    }

    /// Envoy's interval timer: returns hosts whose ejection time has passed, and lets the backoff of
    /// hosts in service for a whole interval decay by one. Run by one worker per cluster.
    func sweep(now: NIODeadline) -> [Transition] {
        let transitions = state.withLockedValue { state -> [Transition] in
            guard !state.retired else { return [] }
            var transitions: [Transition] = []
            for index in state.hosts.indices {
                guard let ejectedAt = state.hosts[index].ejectedAt else { continue }
                let out = now - ejectedAt
                guard out >= ejectionTime(of: state.hosts[index]) else { continue }
                state.hosts[index].ejectedAt = nil
                state.hosts[index].returnedAt = now
                // Envoy clears the counters so that a few errors do not eject the host again at once.
                state.hosts[index].monitor.resetCounters()
                state.hosts[index].monitor.setEjected(false)
                state.ejectedCount -= 1
                transitions.append(state.hosts[index].transition(.returned(after: out)))
            }
            for index in state.hosts.indices where state.hosts[index].ejectedAt == nil && state.hosts[index].backoff > 0 {
                if let returnedAt = state.hosts[index].returnedAt, now - returnedAt >= policy.interval {
                    state.hosts[index].backoff -= 1
                }
            }
            return transitions
        }
        if !transitions.isEmpty { changes.wrappingIncrement(ordering: .releasing) }
        return transitions
    }

    /// The cluster's outlier settings changed: this detector stops, and the hosts it ejected
    /// return (the new detector starts afresh, as Envoy's new cluster would). Returns them once,
    /// to whichever worker adopts the new settings first.
    func retire(now: NIODeadline) -> [Transition] {
        let transitions = state.withLockedValue { state -> [Transition] in
            guard !state.retired else { return [] }
            state.retired = true
            var transitions: [Transition] = []
            for index in state.hosts.indices {
                guard let ejectedAt = state.hosts[index].ejectedAt else { continue }
                state.hosts[index].ejectedAt = nil
                state.hosts[index].monitor.setEjected(false)
                transitions.append(state.hosts[index].transition(.returned(after: now - ejectedAt)))
            }
            state.ejectedCount = 0
            return transitions
        }
        if !transitions.isEmpty { changes.wrappingIncrement(ordering: .releasing) }
        return transitions
    }

    /// `min(base × backoff, maxEjectionTime)`.
    func ejectionTime(of host: HostRecord) -> TimeAmount {
        let (product, overflow) = policy.baseEjectionTime.nanoseconds.multipliedReportingOverflow(by: host.backoff)
        if overflow { return policy.maxEjectionTime }
        return min(.nanoseconds(product), policy.maxEjectionTime)
    }

    /// Unless split, a locally originated failure counts as the status Envoy maps it to.
    private func countLocalOriginFailure(orStatus status: Int, host: OutlierHostMonitor) -> OutlierHostMonitor.Reached {
        guard policy.splitExternalLocalOriginErrors else { return host.countResponse(status: status, policy: policy) }
        return host.countLocalOriginFailure(policy: policy)
    }

    // MARK: deciding (DetectorImpl, on Envoy's main thread)

    private func decide(
        _ types: [OutlierEjectionType], host: OutlierHostMonitor, now: NIODeadline, stats: inout StatsSnapshot.OutlierDetectionStats
    ) -> [Transition] {
        let transitions = state.withLockedValue { state -> [Transition] in
            // A host that left the cluster (or a retired detector) decides nothing.
            guard !state.retired, let index = state.index(of: host) else { return [] }
            return types.compactMap { detection($0, host: index, in: &state, now: now, stats: &stats) }
        }
        if !transitions.isEmpty { changes.wrappingIncrement(ordering: .releasing) }
        return transitions
    }

    /// A threshold was reached: counted as detected, then ejected if the percent bound and the
    /// enforcement allow; the counter that fired starts again.
    private func detection(
        _ type: OutlierEjectionType, host index: Int, in state: inout State, now: NIODeadline, stats: inout StatsSnapshot.OutlierDetectionStats
    ) -> Transition? {
        // An ejected host's counters keep running past the threshold without a second ejection.
        guard state.hosts[index].ejectedAt == nil else { return nil }
        stats.noteDetected(type)
        let transition = eject(index, type: type, in: &state, now: now, stats: &stats)
        if type == .consecutive5xx { stats.ejectionsConsecutive5xx += 1 }
        state.hosts[index].monitor.resetCounter(for: type)
        return transition
    }

    private func eject(
        _ index: Int, type: OutlierEjectionType, in state: inout State, now: NIODeadline, stats: inout StatsSnapshot.OutlierDetectionStats
    ) -> Transition? {
        // Envoy (since 1.27) bounds the share after this ejection strictly; Istio never sets
        // `always_eject_one_host`, so with the default 10% a cluster of fewer than 10 hosts
        // ejects nothing.
        let ejectedPercent = 100.0 * Double(state.ejectedCount + 1) / Double(max(state.hosts.count, 1))
        guard ejectedPercent <= Double(policy.maxEjectionPercent) else {
            stats.ejectionsOverflow += 1
            return nil
        }
        if type == .consecutive5xx { stats.ejectionsTotal += 1 }
        guard policy.enforces(type) else { return nil }
        state.ejectedCount += 1
        stats.noteEnforced(type)
        state.hosts[index].ejectedAt = now
        state.hosts[index].ejections += 1
        state.hosts[index].monitor.setEjected(true)
        let base = policy.baseEjectionTime.nanoseconds
        let (scaled, overflow) = base.multipliedReportingOverflow(by: state.hosts[index].backoff)
        if !overflow && scaled < policy.maxEjectionTime.nanoseconds &+ base { state.hosts[index].backoff += 1 }
        return state.hosts[index].transition(.ejected(type, duration: ejectionTime(of: state.hosts[index])))
    }
}
