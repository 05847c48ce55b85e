import MeshRouting
import NIOConcurrencyHelpers

/// A cluster's shared outlier detector and its hosts' monitors, parallel to the cluster's
/// endpoints, as published with one config revision.
struct OutlierBinding: Sendable {
    let detector: OutlierDetector
    let monitors: [OutlierHostMonitor?]

    /// A detector of this worker alone, for a cluster that was not published (one a request of an
    /// older revision still uses after it left the configuration).
    static func standalone(for cluster: Cluster) -> OutlierBinding? {
        guard let settings = cluster.outlierDetection else { return nil }
        let detector = OutlierDetector(policy: OutlierPolicy(settings))
        return OutlierBinding(detector: detector, monitors: detector.adopt(addresses: cluster.endpoints.map(\.address)))
    }
}

/// Hands every worker the same outlier detector for a cluster, as Envoy's cluster has one
/// detector for all its workers. The proxy publishes each snapshot here, in order, before the
/// workers install it, so host lists and settings changes are applied once and in revision order
/// however the event loops interleave.
final class OutlierDetectorRegistry: Sendable {
    private let detectors = NIOLockedValueBox<[String: OutlierDetector]>([:])

    /// The bindings of `snapshot`'s clusters that have outlier detection, by cluster name. A
    /// cluster whose settings stay keeps its detector (and every remaining host's counts and
    /// ejection); new settings get a new detector, as Envoy builds a new cluster; a cluster that
    /// left the configuration, or lost its settings, drops its detector.
    func publish(_ snapshot: RoutingSnapshot) -> [String: OutlierBinding] {
        detectors.withLockedValue { detectors in
            var kept: [String: OutlierDetector] = [:]
            var bindings: [String: OutlierBinding] = [:]
            for cluster in snapshot.clusters {
                guard let settings = cluster.outlierDetection, bindings[cluster.name] == nil else { continue }
                let policy = OutlierPolicy(settings)
                let detector = detectors[cluster.name].flatMap { $0.policy == policy ? $0 : nil } ?? OutlierDetector(policy: policy)
                kept[cluster.name] = detector
                bindings[cluster.name] = OutlierBinding(detector: detector, monitors: detector.adopt(addresses: cluster.endpoints.map(\.address)))
            }
            detectors = kept
            return bindings
        }
    }
}
