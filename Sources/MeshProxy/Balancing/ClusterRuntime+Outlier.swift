import MeshRouting
import NIOCore

/// Outlier detection as one event loop sees it: the cluster's shared detector and its hosts'
/// monitors, the interval sweep (run by the first worker only), and what an ejection changes for
/// this loop's balancer (`candidates`) and the log.
extension ClusterRuntime {
    /// Adopts the cluster's outlier detection after `update(to:)`: the binding the proxy published
    /// with this revision, or nil when the cluster has none. The same detector as before keeps
    /// every remaining host's state; a new one (the settings changed) starts afresh, and the
    /// hosts the old one ejected return.
    func updateOutlierDetection(_ published: OutlierBinding?) {
        guard let binding = published ?? (cluster.outlierDetection == nil ? nil : OutlierBinding.standalone(for: cluster)) else {
            stopOutlierDetection()
            refreshCandidates()
            return
        }
        outlierMonitors = binding.monitors
        if outlier !== binding.detector {
            if let previous = outlier {
                let returned = previous.retire(now: .now())
                for transition in returned { log(transition, reason: "outlier detection settings changed") }
            }
            outlier = binding.detector
            outlierSweep?.cancel()
            outlierSweep = nil
            // One sweep per cluster, as Envoy's one interval timer on its main thread: the first
            // worker's. A detector of this worker alone is swept here.
            if workerIndex == 0 || published == nil { armOutlierSweep() }
        }
        refreshCandidates()
    }

    func stopOutlierDetection() {
        outlierSweep?.cancel()
        outlierSweep = nil
        outlier = nil
        outlierMonitors = []
        outlierStats = .init()
    }

    /// Counts one attempt's result against the endpoint behind `pool`. `hint` is the endpoint
    /// index the attempt picked; a config swap since then is resolved through the pool.
    func recordOutlier(_ outcome: OutlierDetector.Outcome, pool: EndpointPool, hint: Int?) {
        guard let outlier else { return }
        // A ready connection matters only to a split local-origin count.
        if outcome == .connected && !outlier.policy.splitExternalLocalOriginErrors { return }
        let index: Int
        if let hint, hint >= 0, hint < pools.count, pools[hint] === pool {
            index = hint
        } else if let found = pools.firstIndex(where: { $0 === pool }) {
            index = found
        } else {
            return  // the endpoint left the config
        }
        guard index < outlierMonitors.count, let monitor = outlierMonitors[index] else { return }
        let transitions = outlier.record(outcome, host: monitor, now: .now(), stats: &outlierStats)
        if !transitions.isEmpty { apply(transitions) }
    }

    private func armOutlierSweep() {
        guard let interval = outlier?.policy.interval else { return }
        outlierSweep = eventLoop.assumeIsolated().scheduleTask(in: interval) { [weak self] in
            guard let self else { return }
            self.outlierSweep = nil
            self.sweepOutliers()
        }
    }

    private func sweepOutliers() {
        guard let outlier else { return }
        let transitions = outlier.sweep(now: .now())
        if !transitions.isEmpty { apply(transitions) }
        armOutlierSweep()
    }

    private func apply(_ transitions: [OutlierDetector.Transition]) {
        // The other workers see the change through the detector's epoch at their next pick.
        refreshCandidates()
        for transition in transitions {
            switch transition.change {
            case .ejected(let type, _): log(transition, reason: type.rawValue)
            case .returned: log(transition, reason: "ejection time elapsed")
            }
        }
    }

    private func log(_ transition: OutlierDetector.Transition, reason: String) {
        guard let eventLog else { return }
        let address = transition.host
        let pod = cluster.endpoints.first { $0.address == address }?.workload.name ?? "unknown"
        let kind: ProxyEvent.Kind
        let duration: TimeAmount
        switch transition.change {
        case .ejected(_, let time):
            kind = .outlierEjected
            duration = time
        case .returned(let after):
            kind = .outlierReturned
            duration = after
        }
        eventLog(ProxyEvent(
            kind: kind, worker: workerIndex, cluster: cluster.name, endpoint: "\(address.host):\(address.port)", pod: pod,
            reason: reason, duration: duration, ejections: transition.ejections))
    }
}
