import MeshRouting
import NIOCore

/// Outlier detection on one event loop: the cluster's detector, its interval sweep, and what an
/// ejection changes for the balancer (`candidates`) and the log.
extension ClusterRuntime {
    /// Adopts the cluster's outlier settings after `update(to:)`. Unchanged settings keep every
    /// host's state (hosts that stay are matched by address); changed settings start afresh, as
    /// Envoy builds a new cluster and detector when a cluster's configuration changes.
    func updateOutlierDetection() {
        let addresses = cluster.endpoints.map(\.address)
        guard let settings = cluster.outlierDetection else {
            stopOutlierDetection()
            refreshCandidates()
            return
        }
        let policy = OutlierPolicy(settings)
        if let outlier, outlier.policy == policy {
            outlier.reassign(addresses: addresses)
        } else {
            let previous = outlier
            if let previous {
                let now = NIODeadline.now()
                for host in previous.hosts {
                    guard let ejectedAt = host.ejectedAt else { continue }
                    log(.outlierReturned, host: host, reason: "outlier detection settings changed", duration: now - ejectedAt)
                }
            }
            outlier = OutlierDetector(policy: policy, addresses: addresses, stats: previous?.stats ?? .init())
            outlierSweep?.cancel()
            outlierSweep = nil
            armOutlierSweep()
        }
        refreshCandidates()
    }

    func stopOutlierDetection() {
        outlierSweep?.cancel()
        outlierSweep = nil
        outlier = nil
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
        let transitions = outlier.record(outcome, host: index, now: .now())
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
        refreshCandidates()
        guard let outlier else { return }
        for transition in transitions where transition.host < outlier.hosts.count {
            let host = outlier.hosts[transition.host]
            switch transition.change {
            case .ejected(let type, let duration):
                log(.outlierEjected, host: host, reason: type.rawValue, duration: duration)
            case .returned(let after):
                log(.outlierReturned, host: host, reason: "ejection time elapsed", duration: after)
            }
        }
    }

    private func log(_ kind: ProxyEvent.Kind, host: OutlierDetector.Host, reason: String, duration: TimeAmount) {
        guard let eventLog, let address = host.address else { return }
        let pod = cluster.endpoints.first { $0.address == address }?.workload.name ?? "unknown"
        eventLog(ProxyEvent(
            kind: kind, worker: workerIndex, cluster: cluster.name, endpoint: "\(address.host):\(address.port)", pod: pod,
            reason: reason, duration: duration, ejections: host.ejections))
    }
}
