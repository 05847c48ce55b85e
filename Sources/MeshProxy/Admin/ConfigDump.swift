import Foundation
import MeshConfig
import MeshRouting
import NIOCore

/// `GET /config_dump`: the running revision as JSON (like Envoy's config dump, in meshsim's
/// terms): where it came from, its source files, the virtual hosts with their routes, the
/// clusters with their endpoints, and the status of the last attempt to change it.
struct ConfigDump {
    let revision: ConfigRevision
    let status: ReloadStatus
    let snapshot: RoutingSnapshot

    struct Document: Encodable {
        var revision: Int
        var appliedAt: Date
        var origin: String
        var sources: [Source]
        var virtualHosts: [VirtualHost]
        var clusters: [ClusterEntry]
        var status: Status
    }

    struct Source: Encodable {
        var name: String
        var bytes: Int
        var content: String
    }

    struct VirtualHost: Encodable {
        var name: String
        var virtualService: String?
        var domains: [String]
        var routes: [Route]
    }

    struct Route: Encodable {
        var name: String
        var index: Int
        var matches: [String]
        var action: String
        var clusters: [WeightedCluster]
        var status: Int?
        var timeout: String?
        var retryAttempts: Int?
    }

    struct WeightedCluster: Encodable {
        var cluster: String
        var weight: Int
    }

    struct ClusterEntry: Encodable {
        var name: String
        var host: String
        var subset: String?
        var port: Int
        var state: String
        /// `HTTP/1.1`, `HTTP/2` (h2c) or `client protocol` (`UpstreamProtocol`).
        var upstreamProtocol: String
        var loadBalancer: String
        var destinationRule: String?
        var subsetLabels: [String: String]
        var endpoints: [EndpointEntry]
        /// Envoy's `outlier_detection` and panic threshold as Istio sets them; absent without one.
        var outlierDetection: OutlierDetectionEntry?
    }

    struct EndpointEntry: Encodable {
        var workload: String
        var namespace: String
        var address: String?
        var labels: [String: String]
        var weight: UInt32
    }

    struct Status: Encodable {
        var state: String
        var origin: String
        var time: Date
        var revision: Int
        var errors: [DiagnosticPayload]
        var warnings: [DiagnosticPayload]
    }

    func json() -> String {
        // The snapshot can be one revision ahead of `revision` for the moment a reload takes; the
        // controller's revision names the sources, the snapshot what routes.
        let document = Document(
            revision: snapshot.revision, appliedAt: revision.appliedAt, origin: revision.origin.description,
            sources: revision.sources.map { Source(name: $0.name, bytes: $0.content.utf8.count, content: $0.content) },
            virtualHosts: snapshot.virtualHostDescriptions.map(Self.virtualHost),
            clusters: snapshot.clusters.map(Self.cluster),
            status: Status(
                state: status.state.rawValue, origin: status.origin.description, time: status.time, revision: status.revision,
                errors: status.errors.map(DiagnosticPayload.init), warnings: status.warnings.map(DiagnosticPayload.init)))
        return AdminJSON.encode(document)
    }

    private static func virtualHost(_ host: VirtualHostDescription) -> VirtualHost {
        VirtualHost(
            name: host.name, virtualService: host.virtualService, domains: host.domains,
            routes: host.routes.map { route in
                Route(
                    name: route.name, index: route.ruleIndex, matches: route.matches, action: route.action.rawValue,
                    clusters: route.clusters.map { WeightedCluster(cluster: $0.cluster, weight: $0.weight) },
                    status: route.status, timeout: route.timeout, retryAttempts: route.retryAttempts)
            })
    }

    private static func cluster(_ cluster: Cluster) -> ClusterEntry {
        ClusterEntry(
            name: cluster.name, host: cluster.host, subset: cluster.subset, port: cluster.port,
            state: ClustersReport.stateName(cluster.state), upstreamProtocol: cluster.upstreamProtocol.rawValue, loadBalancer: ClustersReport.loadBalancerName(cluster.loadBalancer),
            destinationRule: cluster.destinationRule, subsetLabels: cluster.subsetLabels,
            endpoints: cluster.endpoints.map { endpoint in
                EndpointEntry(
                    workload: endpoint.workload.name, namespace: endpoint.workload.namespace,
                    address: endpoint.address.map { "\($0.host):\($0.port)" }, labels: endpoint.workload.labels, weight: endpoint.weight)
            },
            outlierDetection: cluster.outlierDetection.map { OutlierDetectionEntry(OutlierPolicy($0)) })
    }

    // MARK: GET /config/revisions

    struct RevisionEntry: Encodable {
        var revision: Int
        var appliedAt: Date
        var origin: String
        var current: Bool
        var sources: [String]
        var resources: Int
    }

    struct RevisionList: Encodable {
        var current: Int
        var revisions: [RevisionEntry]
    }

    static func revisionsJSON(_ revisions: [ConfigRevision], current: Int) -> String {
        AdminJSON.encode(RevisionList(
            current: current,
            revisions: revisions.map {
                RevisionEntry(
                    revision: $0.number, appliedAt: $0.appliedAt, origin: $0.origin.description, current: $0.number == current,
                    sources: $0.sources.map(\.name), resources: $0.resources.count)
            }))
    }
}

/// A cluster's outlier detection in Envoy's terms (`outlier_detection` field names, percentages
/// 0 or 100 as Istio sets them, durations like `"0.300s"`), plus the panic threshold Istio
/// derives from `minHealthPercent`.
struct OutlierDetectionEntry: Encodable {
    var consecutive5xx: UInt32
    var enforcingConsecutive5xx: Int
    var consecutiveGatewayFailure: UInt32
    var enforcingConsecutiveGatewayFailure: Int
    var splitExternalLocalOriginErrors: Bool
    var consecutiveLocalOriginFailure: UInt32?
    var interval: String
    var baseEjectionTime: String
    var maxEjectionTime: String
    var maxEjectionPercent: UInt32
    var healthyPanicThreshold: UInt32
    var errorStatusCodes: [Int]?

    enum CodingKeys: String, CodingKey {
        case consecutive5xx = "consecutive_5xx"
        case enforcingConsecutive5xx = "enforcing_consecutive_5xx"
        case consecutiveGatewayFailure = "consecutive_gateway_failure"
        case enforcingConsecutiveGatewayFailure = "enforcing_consecutive_gateway_failure"
        case splitExternalLocalOriginErrors = "split_external_local_origin_errors"
        case consecutiveLocalOriginFailure = "consecutive_local_origin_failure"
        case interval, baseEjectionTime = "base_ejection_time", maxEjectionTime = "max_ejection_time"
        case maxEjectionPercent = "max_ejection_percent"
        case healthyPanicThreshold = "healthy_panic_threshold"
        case errorStatusCodes = "error_status_codes"
    }

    init(_ policy: OutlierPolicy) {
        consecutive5xx = policy.consecutive5xx
        enforcingConsecutive5xx = policy.enforcesConsecutive5xx ? 100 : 0
        consecutiveGatewayFailure = policy.consecutiveGatewayFailure
        enforcingConsecutiveGatewayFailure = policy.enforcesConsecutiveGatewayFailure ? 100 : 0
        splitExternalLocalOriginErrors = policy.splitExternalLocalOriginErrors
        consecutiveLocalOriginFailure = policy.splitExternalLocalOriginErrors ? policy.consecutiveLocalOriginFailure : nil
        interval = Self.duration(policy.interval)
        baseEjectionTime = Self.duration(policy.baseEjectionTime)
        maxEjectionTime = Self.duration(policy.maxEjectionTime)
        maxEjectionPercent = policy.maxEjectionPercent
        healthyPanicThreshold = policy.healthyPanicThreshold
        errorStatusCodes = policy.errorStatusCodes.map { $0.sorted() }
    }

    /// Protobuf JSON's duration: seconds with the fraction only when there is one (`10s`, `0.300s`).
    static func duration(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        let seconds = milliseconds / 1000, fraction = milliseconds % 1000
        guard fraction != 0 else { return "\(seconds)s" }
        let padded = String(fraction)
        return "\(seconds)." + String(repeating: "0", count: 3 - padded.count) + padded + "s"
    }
}
