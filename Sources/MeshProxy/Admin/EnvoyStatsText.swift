/// `GET /stats`: counters and gauges as Envoy's admin prints them, one `name: value` per line,
/// sorted by name: per cluster (`cluster.<name>.upstream_rq_active`), for the HTTP connection
/// manager (`http.meshsim.downstream_rq_2xx`) and the listener.
struct EnvoyStatsText {
    let stats: StatsSnapshot
    /// `127.0.0.1_15001`, as Envoy names a listener by its address.
    let listenerName: String

    func render() -> String {
        var lines: [String: String] = [:]
        for (name, cluster) in stats.clusters {
            let prefix = "cluster.\(name)."
            lines[prefix + "upstream_cx_active"] = String(cluster.activeConnections)
            lines[prefix + "upstream_cx_total"] = String(cluster.connectionsOpened)
            lines[prefix + "upstream_cx_connect_fail"] = String(cluster.connectFailures)
            lines[prefix + "upstream_rq_active"] = String(cluster.activeRequests)
            lines[prefix + "upstream_rq_pending_active"] = String(cluster.pendingRequests)
            lines[prefix + "upstream_rq_pending_overflow"] = String(cluster.overflows)
            lines[prefix + "upstream_rq_retry"] = String(cluster.retries)
            lines[prefix + "retry_or_shadow_abandoned"] = String(cluster.shadowsAbandoned)
            if let outlier = cluster.outlierDetection {
                lines[prefix + "outlier_detection.ejections_active"] = String(cluster.outlierEjectionsActive)
                for counter in outlier.envoyCounters {
                    lines[prefix + "outlier_detection." + counter.name] = String(counter.value)
                }
                lines[prefix + "lb_healthy_panic"] = String(outlier.healthyPanic)
            }
        }
        // Responses by code and class, per cluster and for the whole connection manager.
        var perCluster: [String: UInt64] = [:]
        var downstream: [String: UInt64] = [:]
        var noRoute: UInt64 = 0
        for (key, value) in stats.requests where key.responseCode > 0 {
            let code = String(key.responseCode)
            let codeClass = "\(key.responseCode / 100)xx"
            if let cluster = key.cluster {
                let prefix = "cluster.\(cluster)."
                perCluster[prefix + "upstream_rq_" + code, default: 0] += value.count
                perCluster[prefix + "upstream_rq_" + codeClass, default: 0] += value.count
                perCluster[prefix + "upstream_rq_completed", default: 0] += value.count
            }
            downstream["http.meshsim.downstream_rq_" + codeClass, default: 0] += value.count
            downstream["http.meshsim.downstream_rq_completed", default: 0] += value.count
            if key.responseFlags.contains(.noRouteFound) { noRoute += value.count }
        }
        // Shadows are upstream requests of the mirror cluster (Envoy collects all its statistics)
        // but no downstream requests.
        for (key, value) in stats.mirroredRequests where key.responseCode > 0 {
            guard let cluster = key.cluster else { continue }
            let prefix = "cluster.\(cluster)."
            perCluster[prefix + "upstream_rq_" + String(key.responseCode), default: 0] += value.count
            perCluster[prefix + "upstream_rq_\(key.responseCode / 100)xx", default: 0] += value.count
            perCluster[prefix + "upstream_rq_completed", default: 0] += value.count
        }
        for (name, value) in perCluster { lines[name] = String(value) }
        for (name, value) in downstream { lines[name] = String(value) }
        lines["http.meshsim.no_route"] = String(noRoute)
        lines["http.meshsim.downstream_cx_active"] = String(stats.downstream.activeConnections)
        lines["http.meshsim.downstream_cx_total"] = String(stats.downstream.connectionsAccepted)
        lines["http.meshsim.downstream_cx_protocol_error"] = String(stats.downstream.protocolErrors)
        lines["http.meshsim.downstream_rq_active"] = String(stats.downstream.activeRequests)
        lines["http.meshsim.downstream_cx_upgrades_total"] = String(stats.downstream.upgrades)
        lines["http.meshsim.downstream_cx_upgrades_active"] = String(stats.downstream.activeUpgrades)
        lines["http.meshsim.downstream_rq_non_relative_path"] = String(stats.downstream.nonRelativePaths)
        lines["listener.\(listenerName).downstream_cx_overflow"] = String(stats.downstream.connectionsOverflowed)
        return lines.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)\n" }.joined()
    }
}
