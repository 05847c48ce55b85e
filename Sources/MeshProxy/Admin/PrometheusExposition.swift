import MeshRouting

/// `GET /stats/prometheus`: Istio's standard request metrics and Envoy's upstream and
/// downstream gauges, in Prometheus' text exposition format (0.0.4). Series with the same labels
/// (pods of one Deployment, say) are summed, as Istio's per-proxy output would hold them once.
struct PrometheusExposition {
    let stats: StatsSnapshot
    let snapshot: RoutingSnapshot
    let sourceNamespace: String

    /// Envoy's `http` connection manager stat prefix for the proxy's listener.
    static let connectionManagerPrefix = "meshsim"

    func render() -> String {
        var out = ""
        renderRequests(into: &out)
        renderClusters(into: &out)
        renderDownstream(into: &out)
        Self.family("meshsim_config_revision", type: "gauge", help: "Revision of the routing configuration the proxy serves.", into: &out)
        out += "meshsim_config_revision \(snapshot.revision)\n"
        return out
    }

    private func renderRequests(into out: inout String) {
        var series: [String: StatsSnapshot.RequestStats] = [:]
        var grpcSeries = Set<String>()
        let reported: [(IstioMetricLabels.Reporter, [StatsSnapshot.RequestKey: StatsSnapshot.RequestStats])] = [
            (.source, stats.requests), (.destination, stats.mirroredRequests),
        ]
        for (reporter, requests) in reported {
            for (key, value) in requests {
                let descriptor = key.cluster.flatMap { stats.clusters[$0]?.descriptor }
                let labels = Self.labelText(
                    IstioMetricLabels.labels(for: key, cluster: descriptor, sourceNamespace: sourceNamespace, reporter: reporter))
                series[labels, default: StatsSnapshot.RequestStats()].add(value)
                if key.requestProtocol == RequestProtocol.grpc.rawValue { grpcSeries.insert(labels) }
            }
        }
        let ordered = series.sorted { $0.key < $1.key }

        Self.family("istio_requests_total", type: "counter", help: "Requests the proxy handled.", into: &out)
        for (labels, value) in ordered {
            out += "istio_requests_total{\(labels)} \(value.count)\n"
        }
        Self.histogram(
            "istio_request_duration_milliseconds", help: "Duration of requests, from the first byte received to the last byte sent.",
            series: ordered, buckets: \.durationBuckets, sum: { Self.number($0.durationSumMilliseconds) }, into: &out)
        Self.histogram(
            "istio_request_bytes", help: "Bytes of requests on the client's connection (head and body).",
            series: ordered, buckets: \.requestBytesBuckets, sum: { String($0.requestBytesSum) }, into: &out)
        Self.histogram(
            "istio_response_bytes", help: "Bytes of responses on the client's connection (head and body).",
            series: ordered, buckets: \.responseBytesBuckets, sum: { String($0.responseBytesSum) }, into: &out)
        // Istio reports message counts for gRPC requests only.
        let grpc = ordered.filter { grpcSeries.contains($0.key) }
        guard !grpc.isEmpty else { return }
        Self.family("istio_request_messages_total", type: "counter", help: "gRPC messages the clients sent.", into: &out)
        for (labels, value) in grpc { out += "istio_request_messages_total{\(labels)} \(value.requestMessages)\n" }
        Self.family("istio_response_messages_total", type: "counter", help: "gRPC messages sent back to the clients.", into: &out)
        for (labels, value) in grpc { out += "istio_response_messages_total{\(labels)} \(value.responseMessages)\n" }
    }

    /// One histogram family over the request series: cumulative buckets, sum and count.
    private static func histogram(
        _ name: String, help: String, series: [(key: String, value: StatsSnapshot.RequestStats)],
        buckets: KeyPath<StatsSnapshot.RequestStats, [UInt64]>, sum: (StatsSnapshot.RequestStats) -> String, into out: inout String
    ) {
        family(name, type: "histogram", help: help, into: &out)
        for (labels, value) in series {
            let counts = value[keyPath: buckets]
            var cumulative: UInt64 = 0
            for (index, bound) in StatsSnapshot.histogramBucketBounds.enumerated() {
                cumulative += index < counts.count ? counts[index] : 0
                out += "\(name)_bucket{\(labels),le=\"\(number(bound))\"} \(cumulative)\n"
            }
            out += "\(name)_bucket{\(labels),le=\"+Inf\"} \(value.count)\n"
            out += "\(name)_sum{\(labels)} \(sum(value))\n"
            out += "\(name)_count{\(labels)} \(value.count)\n"
        }
    }

    private func renderClusters(into out: inout String) {
        let clusters = stats.clusters.sorted { $0.key < $1.key }
        let metrics: [(name: String, type: String, help: String, value: (StatsSnapshot.ClusterStats) -> String)] = [
            ("envoy_cluster_upstream_cx_active", "gauge", "Upstream connections open.", { String($0.activeConnections) }),
            ("envoy_cluster_upstream_cx_total", "counter", "Upstream connections opened.", { String($0.connectionsOpened) }),
            ("envoy_cluster_upstream_cx_connect_fail", "counter", "Upstream connects that failed.", { String($0.connectFailures) }),
            ("envoy_cluster_upstream_rq_active", "gauge", "Requests in flight to the cluster.", { String($0.activeRequests) }),
            ("envoy_cluster_upstream_rq_pending_active", "gauge", "Requests waiting for a connection.", { String($0.pendingRequests) }),
            ("envoy_cluster_upstream_rq_pending_overflow", "counter", "Requests refused by a circuit breaker (503 UO).", { String($0.overflows) }),
            ("envoy_cluster_upstream_rq_retry", "counter", "Retries.", { String($0.retries) }),
            ("envoy_cluster_retry_or_shadow_abandoned", "counter", "Shadows (mirror) given up because the request body outgrew the buffer limit.",
             { String($0.shadowsAbandoned) }),
        ]
        for metric in metrics {
            Self.family(metric.name, type: metric.type, help: metric.help, into: &out)
            for (name, cluster) in clusters {
                out += "\(metric.name){cluster_name=\"\(Self.escape(name))\"} \(metric.value(cluster))\n"
            }
        }
        renderOutlierDetection(clusters.compactMap { name, cluster in cluster.outlierDetection.map { (name, cluster, $0) } }, into: &out)
    }

    /// Envoy's `cluster.<name>.outlier_detection.*` and `lb_healthy_panic`, as Istio's Prometheus
    /// endpoint names them, for the clusters that have outlier detection.
    private func renderOutlierDetection(
        _ clusters: [(name: String, cluster: StatsSnapshot.ClusterStats, outlier: StatsSnapshot.OutlierDetectionStats)], into out: inout String
    ) {
        guard let first = clusters.first else { return }
        func label(_ name: String) -> String { "cluster_name=\"\(Self.escape(name))\"" }
        Self.family("envoy_cluster_outlier_detection_ejections_active", type: "gauge", help: "Endpoints ejected by outlier detection now.", into: &out)
        for entry in clusters {
            out += "envoy_cluster_outlier_detection_ejections_active{\(label(entry.name))} \(entry.cluster.outlierEjectionsActive)\n"
        }
        for (index, counter) in first.outlier.envoyCounters.enumerated() {
            let metric = "envoy_cluster_outlier_detection_" + counter.name
            Self.family(metric, type: "counter", help: "Outlier detection: \(counter.name.replacingOccurrences(of: "_", with: " ")).", into: &out)
            for entry in clusters {
                let counters = entry.outlier.envoyCounters
                out += "\(metric){\(label(entry.name))} \(index < counters.count ? counters[index].value : 0)\n"
            }
        }
        Self.family("envoy_cluster_lb_healthy_panic", type: "counter", help: "Endpoint picks made in panic mode, over ejected endpoints too.", into: &out)
        for entry in clusters {
            out += "envoy_cluster_lb_healthy_panic{\(label(entry.name))} \(entry.outlier.healthyPanic)\n"
        }
    }

    private func renderDownstream(into out: inout String) {
        let label = "envoy_http_conn_manager_prefix=\"\(Self.connectionManagerPrefix)\""
        let downstream = stats.downstream
        let metrics: [(String, String, String, String)] = [
            ("envoy_http_downstream_cx_active", "gauge", "Client connections open.", String(downstream.activeConnections)),
            ("envoy_http_downstream_cx_total", "counter", "Client connections accepted.", String(downstream.connectionsAccepted)),
            ("envoy_http_downstream_rq_active", "gauge", "Client requests in progress.", String(downstream.activeRequests)),
        ]
        for (name, type, help, value) in metrics {
            Self.family(name, type: type, help: help, into: &out)
            out += "\(name){\(label)} \(value)\n"
        }
    }

    // MARK: text format

    static func family(_ name: String, type: String, help: String, into out: inout String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    static func labelText(_ labels: [(String, String)]) -> String {
        labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
    }

    /// Prometheus label value escaping: backslash, double quote, line feed.
    static func escape(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Whole numbers without a fraction (`le="1000"`, as Envoy writes bucket bounds), others as Swift prints them.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
