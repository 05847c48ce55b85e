@testable import MeshProxy
import MeshTestSupport
import Testing

/// `/stats/prometheus` and `/stats` after a known mix of requests: Istio's labels per series,
/// counts per label set, and a histogram whose buckets, sum and count agree.
@Suite struct AdminMetricsTests {
    /// v1 answers at once, v2 after a fixed 30 ms; subset v3 selects no pod (503 UH).
    static let yaml = TestMesh.service("metrics", versions: ["v1": [:], "v2": ["meshsim.dev/latency": "30ms"]]) + """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: metrics, namespace: default}
        spec:
          host: metrics
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
          - {name: v3, labels: {version: v3}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: metrics, namespace: default}
        spec:
          hosts: [metrics]
          http:
          - name: beta
            match: [{headers: {x-test: {exact: beta}}}]
            route: [{destination: {host: metrics, subset: v2}}]
          - name: broken
            match: [{uri: {prefix: /broken}}]
            route: [{destination: {host: metrics, subset: v3}}]
          - name: canary
            route:
            - {destination: {host: metrics, subset: v1}, weight: 75}
            - {destination: {host: metrics, subset: v2}, weight: 25}
        """

    static let service = "metrics.default.svc.cluster.local"

    /// 8 canary requests (exactly 6 v1, 2 v2), 3 beta (v2), 2 to the empty subset, 1 to an unknown host.
    static func sendMix(_ harness: AdminHarness) async throws {
        #expect(try await harness.versions(host: "metrics", count: 8) == ["v1": 6, "v2": 2])
        #expect(try await harness.versions(host: "metrics", count: 3, headers: [("x-test", "beta")]) == ["v2": 3])
        for _ in 0..<2 {
            #expect(try await harness.mesh.send(host: "metrics", path: "/broken").status == 503)
        }
        #expect(try await harness.mesh.send(host: "nowhere.example").status == 404)
    }

    @Test func istioRequestCountsCarryIstiosLabelsPerDestination() async throws {
        try await AdminHarness.with(yaml: Self.yaml) { harness in
            try await Self.sendMix(harness)
            let metrics = try await harness.metrics()
            #expect(metrics.types["istio_requests_total"] == "counter")
            #expect(metrics.types["istio_request_duration_milliseconds"] == "histogram")
            #expect(metrics.sum("istio_requests_total") == 14)

            let v1 = metrics.samples("istio_requests_total", ["destination_version": "v1"])
            #expect(v1.count == 1)
            #expect(v1.first?.value == 6)
            let expectedV1: [String: String] = [
                "reporter": "source", "source_workload": "meshsim", "destination_workload": "metrics-v1",
                "destination_workload_namespace": "default", "destination_app": "metrics", "destination_version": "v1",
                "destination_service": Self.service, "destination_service_name": "metrics", "destination_service_namespace": "default",
                "destination_canonical_service": "metrics", "destination_canonical_revision": "v1",
                "request_protocol": "http", "response_code": "200", "response_flags": "-", "destination_subset": "v1",
                "connection_security_policy": "unknown",
            ]
            for (name, value) in expectedV1 {
                #expect(v1.first?.labels[name] == value, "label \(name)")
            }
            // Canary and beta traffic to v2 share one label set: the route is not a label.
            #expect(metrics.sum("istio_requests_total", ["destination_version": "v2", "response_code": "200", "destination_subset": "v2"]) == 5)
            // The empty subset: the service is known, no workload was reached.
            let noHealthy = metrics.samples("istio_requests_total", ["response_flags": "UH"])
            #expect(noHealthy.count == 1)
            #expect(noHealthy.first?.value == 2)
            #expect(noHealthy.first?.labels["response_code"] == "503")
            #expect(noHealthy.first?.labels["destination_service"] == Self.service)
            #expect(noHealthy.first?.labels["destination_subset"] == "v3")
            #expect(noHealthy.first?.labels["destination_version"] == "unknown")
            #expect(noHealthy.first?.labels["destination_workload"] == "unknown")
            // No route: nothing known of the destination.
            let noRoute = metrics.samples("istio_requests_total", ["response_flags": "NR"])
            #expect(noRoute.first?.value == 1)
            #expect(noRoute.first?.labels["response_code"] == "404")
            #expect(noRoute.first?.labels["destination_service"] == "unknown")
            // Every series has the same label names, in every family.
            let names = Set(metrics.samples("istio_requests_total").map { Set($0.labels.keys) })
            #expect(names.count == 1)
        }
    }

    @Test func durationHistogramBucketsSumAndCountAgree() async throws {
        try await AdminHarness.with(yaml: Self.yaml) { harness in
            try await Self.sendMix(harness)
            let metrics = try await harness.metrics()
            let series = metrics.samples("istio_requests_total")
            #expect(series.count == 4)
            for counter in series {
                let labels = counter.labels
                let count = metrics.samples("istio_request_duration_milliseconds_count", labels)
                #expect(count.count == 1)
                #expect(count.first?.value == counter.value)
                let buckets = metrics.samples("istio_request_duration_milliseconds_bucket", labels)
                    .compactMap { sample -> (Double, Double)? in
                        guard let le = sample.labels["le"] else { return nil }
                        return (le == "+Inf" ? .infinity : Double(le) ?? -1, sample.value)
                    }
                    .sorted { $0.0 < $1.0 }
                #expect(buckets.count == StatsSnapshot.histogramBucketBounds.count + 1)
                #expect(buckets.map(\.0).dropLast() == StatsSnapshot.histogramBucketBounds[...])
                // Cumulative: never decreasing, ending at the count.
                #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.1 <= $1.1 })
                #expect(buckets.last?.1 == counter.value)
                let sum = metrics.sum("istio_request_duration_milliseconds_sum", labels)
                #expect(sum > 0)
                if labels["destination_version"] == "v2" {
                    // Every v2 answer took at least its 30 ms: none in the buckets up to 25 ms.
                    #expect(buckets.first { $0.0 == 25 }?.1 == 0)
                    #expect(sum >= 30 * counter.value)
                }
            }
        }
    }

    /// `istio_request_bytes`/`istio_response_bytes` over HTTP/1.1 are the bytes on the client's
    /// connection, as curl counts them (its whole request, the response head and body); over
    /// HTTP/2, header list sizes plus bodies, which the bodies dominate.
    @Test func requestAndResponseBytesAreTheClientsBytes() async throws {
        try await AdminHarness.with(yaml: Self.yaml) { harness in
            let body = String(repeating: "x", count: 3000)
            let url = "http://127.0.0.1:\(harness.mesh.port)/echo"
            let sizes = "%{size_request} %{size_upload} %{size_header} %{size_download}"
            let http1 = try await ChildProcess.run(
                "curl", ["-s", "-o", "/dev/null", "-w", sizes, "-H", "Host: metrics", "-H", "x-test: beta", "--data-binary", body, url],
                timeout: .seconds(30))
            let counted = http1.stdout.split(separator: " ").compactMap { Double($0) }
            #expect(counted.count == 4, "\(http1)")
            let http2 = try await ChildProcess.run(
                "curl", ["-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{size_download}", "-H", "Host: metrics",
                         "-H", "x-test: beta", "--data-binary", body, url],
                timeout: .seconds(30))
            let http2Body = Double(http2.stdout) ?? -1
            let metrics = try await harness.metrics()
            #expect(metrics.types["istio_request_bytes"] == "histogram")
            #expect(metrics.types["istio_response_bytes"] == "histogram")
            let h1 = ["destination_version": "v2", "request_protocol": "http"]
            // curl's size_request is its whole request (head and the 3,000 bytes it uploaded).
            #expect(counted[1] == 3000)
            #expect(metrics.sum("istio_request_bytes_sum", h1) == counted[0])
            #expect(metrics.sum("istio_response_bytes_sum", h1) == counted[2] + counted[3])
            #expect(metrics.sum("istio_request_bytes_count", h1) == 1)
            // 3,000 bytes fall in the 5000 bucket, not the 2500 one.
            #expect(metrics.sum("istio_request_bytes_bucket", h1.merging(["le": "2500"]) { $1 }) == 0)
            #expect(metrics.sum("istio_request_bytes_bucket", h1.merging(["le": "5000"]) { $1 }) == 1)
            let h2 = ["destination_version": "v2", "request_protocol": "http/2"]
            let h2Request = metrics.sum("istio_request_bytes_sum", h2)
            #expect(h2Request > 3000 && h2Request < 3000 + 1000, "\(h2Request)")
            let h2Response = metrics.sum("istio_response_bytes_sum", h2)
            #expect(h2Response > http2Body && h2Response < http2Body + 1000, "\(h2Response) \(http2Body)")
        }
    }

    @Test func envoyClusterAndDownstreamStatsInBothFormats() async throws {
        try await AdminHarness.with(yaml: Self.yaml) { harness in
            try await Self.sendMix(harness)
            let metrics = try await harness.metrics()
            let v1Cluster = "outbound|9080|v1|\(Self.service)"
            #expect(metrics.types["envoy_cluster_upstream_cx_active"] == "gauge")
            #expect(metrics.types["envoy_cluster_upstream_rq_retry"] == "counter")
            // LocalMesh.send closes each client connection, but the upstream connection stays pooled.
            #expect(metrics.sum("envoy_cluster_upstream_cx_active", ["cluster_name": v1Cluster]) == 1)
            #expect(metrics.sum("envoy_cluster_upstream_cx_total", ["cluster_name": v1Cluster]) == 1)
            for name in ["envoy_cluster_upstream_rq_active", "envoy_cluster_upstream_rq_pending_active",
                         "envoy_cluster_upstream_cx_connect_fail", "envoy_cluster_upstream_rq_pending_overflow"] {
                #expect(metrics.samples(name, ["cluster_name": v1Cluster]).first?.value == 0, "\(name)")
            }
            #expect(metrics.sum("envoy_http_downstream_cx_total") == 14)
            #expect(metrics.sum("meshsim_config_revision") == 0)

            let stats = try await harness.get("/stats")
            #expect(stats.status == 200)
            var values: [String: String] = [:]
            for line in stats.body.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2 { values[parts[0]] = parts[1] }
            }
            #expect(values["cluster.\(v1Cluster).upstream_rq_200"] == "6")
            #expect(values["cluster.outbound|9080|v2|\(Self.service).upstream_rq_2xx"] == "5")
            #expect(values["cluster.outbound|9080|v3|\(Self.service).upstream_rq_503"] == "2")
            #expect(values["http.meshsim.downstream_rq_2xx"] == "11")
            #expect(values["http.meshsim.downstream_rq_4xx"] == "1")
            #expect(values["http.meshsim.downstream_rq_5xx"] == "2")
            #expect(values["http.meshsim.no_route"] == "1")
            #expect(values["http.meshsim.downstream_cx_total"] == "14")
            #expect(values["http.meshsim.downstream_cx_protocol_error"] == "0")
            // Envoy sorts its stats by name.
            let names = stats.body.split(separator: "\n").map { $0.split(separator: ":").first.map(String.init) ?? "" }
            #expect(names == names.sorted())
        }
    }
}

@Suite struct IstioMetricLabelsTests {
    @Test func protocolAndGRPCStatusComeFromTheRequestKey() {
        let key = StatsSnapshot.RequestKey(
            cluster: "outbound|50051|v2|greeter.default.svc.cluster.local", responseCode: 200, responseFlags: [],
            requestProtocol: "grpc", grpcResponseStatus: "14")
        let labels = Dictionary(IstioMetricLabels.labels(for: key, cluster: nil, sourceNamespace: "default"), uniquingKeysWith: { a, _ in a })
        #expect(labels["request_protocol"] == "grpc")
        #expect(labels["grpc_response_status"] == "14")
        let plain = Dictionary(
            IstioMetricLabels.labels(for: StatsSnapshot.RequestKey(cluster: nil, responseCode: 404, responseFlags: []), cluster: nil, sourceNamespace: "default"),
            uniquingKeysWith: { a, _ in a })
        #expect(plain["request_protocol"] == "http")
        #expect(plain["grpc_response_status"] == "")
    }
}
