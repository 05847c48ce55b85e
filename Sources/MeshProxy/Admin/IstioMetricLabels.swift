/// The labels Istio's stats filter puts on `istio_requests_total` and
/// `istio_request_duration_milliseconds`, in the order Istio writes them, plus meshsim's
/// `destination_subset`. meshsim is the client: it has no workload of its own, no mTLS and no
/// multi-cluster, so those labels carry Istio's values for "not known".
enum IstioMetricLabels {
    /// Istio's default cluster name (`global.multiCluster.clusterName`).
    static let clusterName = "Kubernetes"

    /// Whose proxy reports: the client's (`source`, every request meshsim proxies) or the
    /// destination workload's (`destination`: mirrored requests, which Istio's client proxy
    /// does not report, while the mirror workload's own proxy does).
    enum Reporter: String {
        case source
        case destination
    }

    static func labels(
        for key: StatsSnapshot.RequestKey, cluster: StatsSnapshot.ClusterDescriptor?, sourceNamespace: String,
        reporter: Reporter = .source
    ) -> [(String, String)] {
        let destination = key.destination
        return [
            ("reporter", reporter.rawValue),
            ("source_workload", "meshsim"),
            ("source_canonical_service", "meshsim"),
            ("source_canonical_revision", "latest"),
            ("source_workload_namespace", sourceNamespace),
            ("source_principal", "unknown"),
            ("source_app", "meshsim"),
            ("source_version", "unknown"),
            ("source_cluster", clusterName),
            ("destination_workload", destination?.name ?? "unknown"),
            ("destination_workload_namespace", destination?.namespace ?? "unknown"),
            ("destination_principal", "unknown"),
            ("destination_app", destination?.app ?? "unknown"),
            ("destination_version", destination?.version ?? "unknown"),
            ("destination_service", cluster?.host ?? "unknown"),
            ("destination_canonical_service", destination?.canonicalService ?? "unknown"),
            ("destination_canonical_revision", destination?.canonicalRevision ?? "latest"),
            ("destination_service_name", cluster?.serviceName ?? "unknown"),
            ("destination_service_namespace", cluster?.serviceNamespace ?? "unknown"),
            ("destination_cluster", destination == nil ? "unknown" : clusterName),
            ("request_protocol", key.requestProtocol),
            ("response_code", String(key.responseCode)),
            ("grpc_response_status", key.grpcResponseStatus ?? ""),
            ("response_flags", key.responseFlags.description),
            ("connection_security_policy", "unknown"),
            ("destination_subset", cluster?.subset ?? ""),
        ]
    }
}
