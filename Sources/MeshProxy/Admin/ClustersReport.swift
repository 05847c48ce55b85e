import MeshConfig
import MeshRouting

/// `GET /clusters`: every cluster of the running snapshot with its circuit breakers and, per
/// endpoint, address, labels, health, weight, active requests and connections, and request
/// counters — as Envoy's `cluster::address::stat::value` lines, or JSON with `?format=json`.
struct ClustersReport {
    let snapshot: RoutingSnapshot
    let stats: StatsSnapshot

    struct EndpointRow {
        var address: String
        var hostname: String
        var labels: [String: String]
        var health: String
        var weight: UInt32
        var activeRequests: Int
        var activeConnections: Int
        var connectFailures: UInt64
        var requestsTotal: UInt64
        var requestsSuccess: UInt64
        var requestsError: UInt64
        var requestsTimeout: UInt64
    }

    struct ClusterRow {
        var name: String
        var state: String
        var maxConnections: Int
        var maxPendingRequests: Int
        var maxRequests: Int
        var maxRetries: Int
        var endpoints: [EndpointRow]
    }

    /// Istio leaves a breaker at 2^32-1 when a DestinationRule sets none.
    static let unlimited = Int(UInt32.max)

    var rows: [ClusterRow] {
        // Requests by cluster and pod: an endpoint's counters are those of its workload instance.
        var counts: [String: [String: (total: UInt64, success: UInt64, error: UInt64, timeout: UInt64)]] = [:]
        // Shadows count too: Envoy's host stats see every upstream request, mirrored or not.
        for (key, value) in [stats.requests, stats.mirroredRequests].joined() {
            guard let cluster = key.cluster, let pod = key.destination?.instance else { continue }
            var entry = counts[cluster]?[pod] ?? (0, 0, 0, 0)
            entry.total += value.count
            if key.responseCode >= 500 || key.responseCode == 0 { entry.error += value.count } else { entry.success += value.count }
            if key.responseFlags.contains(.upstreamRequestTimeout) { entry.timeout += value.count }
            counts[cluster, default: [:]][pod] = entry
        }
        return snapshot.clusters.map { cluster in
            let clusterStats = stats.clusters[cluster.name]
            let pool = cluster.connectionPool
            func limit(_ value: Int32?) -> Int { (value ?? 0) > 0 ? Int(value ?? 0) : Self.unlimited }
            let endpoints = cluster.endpoints.map { endpoint -> EndpointRow in
                let address = endpoint.address.map { "\($0.host):\($0.port)" }
                let pooled = address.flatMap { clusterStats?.endpoints[$0] }
                let count = counts[cluster.name]?[endpoint.workload.name] ?? (0, 0, 0, 0)
                let health: String
                if address == nil {
                    health = "unresolved"
                } else {
                    // Envoy's flag while outlier detection keeps the host out (on any worker here).
                    health = (pooled?.outlierEjectedWorkers ?? 0) > 0 ? "/failed_outlier_check" : "healthy"
                }
                return EndpointRow(
                    address: address ?? "unresolved", hostname: endpoint.workload.name, labels: endpoint.workload.labels,
                    health: health, weight: endpoint.weight,
                    activeRequests: pooled?.activeRequests ?? 0, activeConnections: pooled?.activeConnections ?? 0,
                    connectFailures: pooled?.connectFailures ?? 0, requestsTotal: count.total, requestsSuccess: count.success,
                    requestsError: count.error, requestsTimeout: count.timeout)
            }
            return ClusterRow(
                name: cluster.name, state: Self.stateName(cluster.state), maxConnections: limit(pool?.tcp?.maxConnections),
                maxPendingRequests: limit(pool?.http?.http1MaxPendingRequests), maxRequests: limit(pool?.http?.http2MaxRequests),
                maxRetries: Self.unlimited, endpoints: endpoints)
        }
    }

    func text() -> String {
        var out = ""
        for cluster in rows {
            let name = cluster.name
            out += "\(name)::observability_name::\(name)\n"
            out += "\(name)::state::\(cluster.state)\n"
            out += "\(name)::default_priority::max_connections::\(cluster.maxConnections)\n"
            out += "\(name)::default_priority::max_pending_requests::\(cluster.maxPendingRequests)\n"
            out += "\(name)::default_priority::max_requests::\(cluster.maxRequests)\n"
            out += "\(name)::default_priority::max_retries::\(cluster.maxRetries)\n"
            for endpoint in cluster.endpoints {
                let prefix = "\(name)::\(endpoint.address)::"
                out += prefix + "hostname::\(endpoint.hostname)\n"
                out += prefix + "labels::\(Self.labelList(endpoint.labels))\n"
                out += prefix + "health_flags::\(endpoint.health)\n"
                out += prefix + "weight::\(endpoint.weight)\n"
                out += prefix + "cx_active::\(endpoint.activeConnections)\n"
                out += prefix + "cx_connect_fail::\(endpoint.connectFailures)\n"
                out += prefix + "rq_active::\(endpoint.activeRequests)\n"
                out += prefix + "rq_error::\(endpoint.requestsError)\n"
                out += prefix + "rq_success::\(endpoint.requestsSuccess)\n"
                out += prefix + "rq_timeout::\(endpoint.requestsTimeout)\n"
                out += prefix + "rq_total::\(endpoint.requestsTotal)\n"
            }
        }
        return out
    }

    // MARK: JSON (Envoy's ClusterStatuses, in its spirit)

    struct ClusterStatuses: Encodable {
        var clusterStatuses: [ClusterStatus]
    }

    struct ClusterStatus: Encodable {
        var name: String
        var state: String
        var circuitBreakers: CircuitBreakers
        var hostStatuses: [HostStatus]
    }

    struct CircuitBreakers: Encodable {
        var maxConnections: Int
        var maxPendingRequests: Int
        var maxRequests: Int
        var maxRetries: Int
    }

    struct HostStatus: Encodable {
        var address: String
        var hostname: String
        var labels: [String: String]
        var healthStatus: String
        var weight: UInt32
        var stats: [String: UInt64]
    }

    func json() -> String {
        AdminJSON.encode(ClusterStatuses(clusterStatuses: rows.map { cluster in
            ClusterStatus(
                name: cluster.name, state: cluster.state,
                circuitBreakers: CircuitBreakers(
                    maxConnections: cluster.maxConnections, maxPendingRequests: cluster.maxPendingRequests,
                    maxRequests: cluster.maxRequests, maxRetries: cluster.maxRetries),
                hostStatuses: cluster.endpoints.map { endpoint in
                    HostStatus(
                        address: endpoint.address, hostname: endpoint.hostname, labels: endpoint.labels, healthStatus: endpoint.health,
                        weight: endpoint.weight,
                        stats: [
                            "cx_active": UInt64(endpoint.activeConnections), "cx_connect_fail": endpoint.connectFailures,
                            "rq_active": UInt64(endpoint.activeRequests), "rq_error": endpoint.requestsError,
                            "rq_success": endpoint.requestsSuccess, "rq_timeout": endpoint.requestsTimeout, "rq_total": endpoint.requestsTotal,
                        ])
                })
        }))
    }

    // MARK: names

    static func labelList(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func stateName(_ state: ClusterState) -> String {
        switch state {
        case .ready: return "ready"
        case .unchecked: return "unchecked"
        case .noHealthyUpstream: return "no_healthy_upstream"
        case .undefinedSubset: return "undefined_subset"
        }
    }

    static func loadBalancerName(_ policy: LoadBalancerPolicy) -> String {
        switch policy {
        case .roundRobin: return "ROUND_ROBIN"
        case .leastRequest: return "LEAST_REQUEST"
        case .random: return "RANDOM"
        case .passthrough: return "PASSTHROUGH"
        case .consistentHash: return "RING_HASH"
        }
    }
}
