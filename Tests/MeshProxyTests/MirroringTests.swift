import Foundation
import MeshBackends
import MeshHTTP2
@testable import MeshProxy
import MeshTestSupport
import NIOCore
import Testing

/// A route's `mirror`/`mirrors` (Envoy's request mirror policies): the copy goes to the mirror
/// cluster with `-shadow` on its Host, its answer is dropped, and it never holds up the client.
@Suite struct MirroringTests {
    static let v1Cluster = "outbound|8080|v1|shop.example"
    static let v2Cluster = "outbound|8080|v2|shop.example"

    /// `shop.example` with a v1 and a v2 endpoint (recording servers) and a route to v1 that
    /// mirrors to v2 (`mirrorFields` are the route's extra mirror settings).
    static func shop(v1: Int, v2: Int, mirrorFields: String = "") -> String {
        FixtureYAML.documents(
            FixtureYAML.serviceEntry(
                "shop", host: "shop.example", port: 8080,
                endpoints: ["{address: 127.0.0.1, ports: {http: \(v1)}, labels: {version: v1}}", "{address: 127.0.0.1, ports: {http: \(v2)}, labels: {version: v2}}"]),
            FixtureYAML.destinationRule("shop", host: "shop.example", versions: ["v1", "v2"]),
            FixtureYAML.virtualService(
                "shop", hosts: ["shop.example"],
                http: """
                    - name: dark-launch
                      route: [{destination: {host: shop.example, subset: v1}}]
                      mirror: {host: shop.example, subset: v2}\(mirrorFields)
                    """))
    }

    /// Simulated `reviews` pods per version, a DestinationRule with their subsets, and a route
    /// to v1 with `mirrorRule` (more fields of the route, at column 0).
    static func reviews(versions: [String: [String: String]], mirrorRule: String) -> String {
        TestMesh.service("reviews", versions: versions) + "---\n"
            + FixtureYAML.documents(
                FixtureYAML.destinationRule("reviews", versions: versions.keys.sorted()),
                FixtureYAML.virtualService(
                    "reviews",
                    http: """
                        - name: dark-launch
                          route: [{destination: {host: reviews, subset: v1}}]
                        \(FixtureYAML.indented(mirrorRule, by: 2))
                        """))
    }

    /// Sends `count` requests for `reviews` on one connection to the proxy at `port`; each must
    /// be answered 200 by v1, whatever its shadows do.
    static func expectAnsweredByV1(port: Int, count: Int) async throws {
        let connection = try RawConnection(port: port)
        for _ in 0..<count {
            try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.header("x-meshsim-version") == "v1")
        }
    }

    /// Two recording servers (v1, v2), stopped after `body` whatever happens.
    static func withRecorders<T>(_ body: (RecordingServer, RecordingServer) async throws -> T) async throws -> T {
        let v1 = try await RecordingServer.start(name: "v1")
        let v2: RecordingServer
        do {
            v2 = try await RecordingServer.start(name: "v2")
        } catch {
            await v1.stop()
            throw error
        }
        do {
            let result = try await body(v1, v2)
            await v1.stop()
            await v2.stop()
            return result
        } catch {
            await v1.stop()
            await v2.stop()
            throw error
        }
    }

    // MARK: the copy

    @Test func everyRequestIsMirroredToV2WithAShadowHostWhileV1Answers() async throws {
        try await Self.withRecorders { v1, v2 in
            try await TestMesh.with(yaml: Self.shop(v1: v1.port, v2: v2.port)) { mesh in
                let connection = try RawConnection(port: mesh.port)
                let count = 20
                for i in 0..<count {
                    try await connection.send("GET /items/\(i)?q=\(i) HTTP/1.1\r\nHost: shop.example\r\n\r\n")
                    let response = try await connection.readResponse()
                    #expect(response.status == 200)
                    #expect(response.header("x-recorded-by") == "v1")
                    #expect(response.bodyText == "from v1")
                }
                let allMirrored = await TestMesh.waitUntil { v2.requests.count >= count }
                #expect(allMirrored)
                let main = v1.requests, shadows = v2.requests
                #expect(main.count == count)
                #expect(shadows.count == count)
                #expect(main.allSatisfy { $0.header("host") == "shop.example" })
                #expect(shadows.allSatisfy { $0.header("host") == "shop.example-shadow" })
                // The same request, as it went upstream: path, query, request id, forwarding headers.
                #expect(Set(shadows.map(\.uri)) == Set((0..<count).map { "/items/\($0)?q=\($0)" }))
                #expect(Set(shadows.compactMap { $0.header("x-request-id") }) == Set(main.compactMap { $0.header("x-request-id") }))
                #expect(shadows.allSatisfy { $0.header("x-forwarded-proto") == "http" && $0.header("x-forwarded-for") == nil })

                let stats = await mesh.proxy.collectStats()
                // The client's proxy reports only the main requests; the shadows are counted apart.
                #expect(stats.requestCount(cluster: Self.v1Cluster, responseCode: 200) == UInt64(count))
                #expect(stats.requestCount(cluster: Self.v2Cluster) == 0)
                let mirrored = stats.mirroredRequests.filter { $0.key.cluster == Self.v2Cluster && $0.key.responseCode == 200 }
                #expect(mirrored.values.reduce(0) { $0 + $1.count } == UInt64(count))
                #expect(mirrored.keys.allSatisfy { $0.destination?.labels["version"] == "v2" && $0.responseFlags.isEmpty })
            }
        }
    }

    @Test func requestBodiesAreMirroredWithTheirFraming() async throws {
        try await Self.withRecorders { v1, v2 in
            try await TestMesh.with(yaml: Self.shop(v1: v1.port, v2: v2.port)) { mesh in
                let connection = try RawConnection(port: mesh.port)
                let sized = "{\"order\": 1, \"items\": [\"tea\", \"milk\"]}"
                try await connection.send(
                    "POST /orders HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\nContent-Length: \(sized.utf8.count)\r\n\r\n\(sized)")
                #expect(try await connection.readResponse().status == 200)
                // Chunked: the shadow streams, so its head reaches v2 before the client sends the rest.
                try await connection.send("PUT /orders/2 HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
                #expect(await TestMesh.waitUntil { v2.headsReceived == 2 })
                #expect(v2.requests.count == 1)
                try await connection.send("7\r\n-second\r\n0\r\n\r\n")
                #expect(try await connection.readResponse().status == 200)

                let bothMirrored = await TestMesh.waitUntil { v2.requests.count >= 2 }
                #expect(bothMirrored)
                let shadows = Dictionary(v2.requests.map { ($0.uri, $0) }, uniquingKeysWith: { a, _ in a })
                #expect(shadows["/orders"]?.method == "POST")
                #expect(shadows["/orders"].map { String(decoding: $0.body, as: UTF8.self) } == sized)
                #expect(shadows["/orders"]?.header("content-length") == String(sized.utf8.count))
                #expect(shadows["/orders/2"]?.method == "PUT")
                #expect(shadows["/orders/2"].map { String(decoding: $0.body, as: UTF8.self) } == "first-second")
                #expect(shadows["/orders/2"]?.header("transfer-encoding") == "chunked")
                // The client's upstream got the very same bodies.
                #expect(v1.requests.map(\.body) == [Array(sized.utf8), Array("first-second".utf8)])
            }
        }
    }

    @Test func anHTTP2RequestIsMirroredWithItsBody() async throws {
        try await Self.withRecorders { v1, v2 in
            try await TestMesh.with(yaml: Self.shop(v1: v1.port, v2: v2.port)) { mesh in
                let client = try await H2TestClient.connect(port: mesh.port)
                do {
                    let response = try await client.request(
                        HTTP2RequestHead(method: "POST", authority: "shop.example", path: "/h2"), body: ByteBuffer(string: "over h2c"))
                    #expect(response.head.status == 200)
                    #expect(response.head.headers.first(name: "x-recorded-by") == "v1")
                } catch {
                    await client.shutdown()
                    throw error
                }
                await client.shutdown()
                #expect(await TestMesh.waitUntil { v2.requests.count == 1 })
                #expect(v2.requests.first?.header("host") == "shop.example-shadow")
                #expect(v2.requests.first.map { String(decoding: $0.body, as: UTF8.self) } == "over h2c")
                #expect(v1.requests.first.map { String(decoding: $0.body, as: UTF8.self) } == "over h2c")
            }
        }
    }

    /// Envoy cancels the shadow streams of a request destroyed before its end: a client that
    /// resets its stream mid-body leaves no whole request at the mirror.
    @Test func aRequestAbandonedMidBodyResetsItsShadow() async throws {
        try await Self.withRecorders { v1, v2 in
            try await TestMesh.with(yaml: Self.shop(v1: v1.port, v2: v2.port)) { mesh in
                let client = try await H2TestClient.connect(port: mesh.port)
                do {
                    let stream = try await client.open(HTTP2RequestHead(method: "POST", authority: "shop.example", path: "/never-ends"), endStream: false)
                    #expect(await TestMesh.waitUntil { v2.headsReceived == 1 && v1.headsReceived == 1 })
                    try await client.reset(stream)
                    let reset = await TestMesh.waitUntil {
                        let stats = await mesh.proxy.collectStats()
                        return stats.mirroredRequests.contains { $0.key.cluster == Self.v2Cluster && $0.key.responseFlags == .downstreamConnectionTermination }
                            && stats.clusters[Self.v2Cluster]?.activeConnections == 0
                    }
                    #expect(reset)
                    #expect(v2.requests.isEmpty)
                } catch {
                    await client.shutdown()
                    throw error
                }
                await client.shutdown()
            }
        }
    }

    @Test func aBodyOverTheBufferLimitIsNotMirroredButStillForwarded() async throws {
        var limits = ProxyConfiguration.Limits()
        limits.retryBufferBytes = 1024
        try await Self.withRecorders { v1, v2 in
            try await TestMesh.with(yaml: Self.shop(v1: v1.port, v2: v2.port), configuration: TestMesh.configuration(limits: limits)) { mesh in
                let connection = try RawConnection(port: mesh.port)
                let big = String(repeating: "x", count: 4096)
                // A declared length over the limit: no shadow at all.
                try await connection.send("POST /declared HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 4096\r\n\r\n\(big)")
                #expect(try await connection.readResponse().status == 200)
                // A chunked body that outgrows the limit on its way: the shadow is reset.
                try await connection.send("POST /chunked HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n\(big.prefix(512))\r\n")
                #expect(await TestMesh.waitUntil { v2.headsReceived == 1 })
                try await connection.send("e00\r\n\(big.prefix(3584))\r\n0\r\n\r\n")
                #expect(try await connection.readResponse().status == 200)
                // A small request after them is mirrored as usual.
                try await connection.send("POST /small HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 5\r\n\r\nsmall")
                #expect(try await connection.readResponse().status == 200)

                #expect(await TestMesh.waitUntil { v2.requests.contains { $0.uri == "/small" } })
                #expect(v1.requests.map(\.uri) == ["/declared", "/chunked", "/small"])
                #expect(v1.requests.map(\.body.count) == [4096, 4096, 5])
                #expect(v2.requests.map(\.uri) == ["/small"])
                let stats = await mesh.proxy.collectStats()
                #expect(stats.clusters[Self.v1Cluster]?.shadowsAbandoned == 2)
            }
        }
    }

    @Test func severalMirrorsEachGetACopy() async throws {
        let yaml = Self.reviews(versions: ["v1": [:], "v2": [:], "v3": [:]], mirrorRule: """
                mirrors:
                - destination: {host: reviews, subset: v2}
                - destination: {host: reviews, subset: v3}
                  percentage: {value: 100}
                """)
        try await TestMesh.with(yaml: yaml) { mesh in
            try await Self.expectAnsweredByV1(port: mesh.port, count: 10)
            let served = await TestMesh.waitUntil {
                mesh.fleet.stats["default/reviews-v2-0"]?.requestsServed == 10 && mesh.fleet.stats["default/reviews-v3-0"]?.requestsServed == 10
            }
            #expect(served)
            #expect(mesh.fleet.stats["default/reviews-v1-0"]?.requestsServed == 10)
        }
    }

    // MARK: percentage

    /// How many of `count` requests a 50% mirror copied under `seed`, checked against the v2 pod.
    static func mirroredAtHalf(seed: UInt64, count: Int) async throws -> Int {
        let yaml = Self.reviews(versions: ["v1": [:], "v2": [:]], mirrorRule: """
                mirror: {host: reviews, subset: v2}
                mirrorPercentage: {value: 50}
                """)
        return try await TestMesh.with(yaml: yaml, configuration: TestMesh.configuration(split: .random(seed: seed))) { mesh in
            try await Self.expectAnsweredByV1(port: mesh.port, count: count)
            let v2Cluster = "outbound|9080|v2|reviews.default.svc.cluster.local"
            var mirrored = 0
            let settled = await TestMesh.waitUntil {
                let stats = await mesh.proxy.collectStats()
                mirrored = Int(stats.mirroredRequests.filter { $0.key.cluster == v2Cluster }.values.reduce(0) { $0 + $1.count })
                let idle = stats.clusters[v2Cluster].map { $0.activeRequests == 0 } ?? true
                return idle && mesh.fleet.stats["default/reviews-v2-0"]?.requestsServed == mirrored
            }
            #expect(settled)
            #expect(mesh.fleet.stats["default/reviews-v1-0"]?.requestsServed == count)
            return mirrored
        }
    }

    @Test func mirrorPercentageIsDrawnOnTheSeededGenerator() async throws {
        let count = 200
        let first = try await Self.mirroredAtHalf(seed: 7, count: count)
        let again = try await Self.mirroredAtHalf(seed: 7, count: count)
        // The same seed and request order repeat the same draws.
        #expect(first == again)
        // Binomial(200, 0.5): mean 100, standard deviation ~7.1; five deviations either side.
        #expect(abs(first - count / 2) <= 35)
    }

    // MARK: fire and forget

    @Test func aDeadMirrorNeitherFailsNorSlowsTheClient() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let yaml = FixtureYAML.documents(
            Self.reviews(versions: ["v1": [:]], mirrorRule: "mirror: {host: dark.example}"),
            FixtureYAML.serviceEntry("dark", host: "dark.example", port: refusing.port))
        try await TestMesh.with(yaml: yaml) { mesh in
            try await Self.expectAnsweredByV1(port: mesh.port, count: 10)
            let darkCluster = "outbound|\(refusing.port)||dark.example"
            let allFailed = await TestMesh.waitUntil {
                let cluster = await mesh.proxy.collectStats().clusters[darkCluster]
                return cluster?.connectFailures == 10 && cluster?.activeRequests == 0
            }
            #expect(allFailed)
            let stats = await mesh.proxy.collectStats()
            // No workload got them, so no proxy would report them; no retries for shadows.
            #expect(stats.mirroredRequests.keys.allSatisfy { $0.cluster != darkCluster })
            #expect(stats.clusters[darkCluster]?.retries == 0)
            #expect(stats.requestCount(cluster: "outbound|9080|v1|reviews.default.svc.cluster.local", responseCode: 200) == 10)
        }
    }

    @Test func clientRequestsCompleteWhileTheirSlowShadowsAreStillInFlight() async throws {
        let yaml = Self.reviews(
            versions: ["v1": [:], "v2": [BehaviorProfile.latencyAnnotation: "60s"]], mirrorRule: "mirror: {host: reviews, subset: v2}")
        try await TestMesh.with(yaml: yaml) { mesh in
            try await Self.expectAnsweredByV1(port: mesh.port, count: 5)
            // Every client request is answered; all five shadows are still held by the slow pod.
            let v2 = "default/reviews-v2-0"
            #expect(await TestMesh.waitUntil { mesh.fleet.stats[v2]?.inFlight == 5 })
            #expect(mesh.fleet.stats[v2]?.requestsServed == 0)
            let stats = await mesh.proxy.collectStats()
            #expect(stats.clusters["outbound|9080|v2|reviews.default.svc.cluster.local"]?.activeRequests == 5)
            #expect(stats.requestCount(cluster: "outbound|9080|v1|reviews.default.svc.cluster.local", responseCode: 200) == 5)
        }
    }

    @Test func aShadowGetsTheRouteTimeoutAndIsResetWhenItExpires() async throws {
        // The timeout bounds the client's own request to v1 too: 2 s, which a loaded machine
        // cannot make v1's answer miss (300 ms could), and still far below the shadow's 60 s.
        let yaml = Self.reviews(
            versions: ["v1": [:], "v2": [BehaviorProfile.latencyAnnotation: "60s"]],
            mirrorRule: "timeout: 2s\nmirror: {host: reviews, subset: v2}")
        try await TestMesh.with(yaml: yaml) { mesh in
            let response = try await mesh.send(host: "reviews")
            #expect(response.status == 200)
            let v2Cluster = "outbound|9080|v2|reviews.default.svc.cluster.local"
            let reset = await TestMesh.waitUntil {
                let stats = await mesh.proxy.collectStats()
                // Reset, not kept: the shadow's connection is closed, not back in the pool.
                return stats.mirroredRequests.contains { $0.key.cluster == v2Cluster && $0.key.responseFlags == .downstreamConnectionTermination }
                    && stats.clusters[v2Cluster]?.activeRequests == 0 && stats.clusters[v2Cluster]?.activeConnections == 0
            }
            #expect(reset)
            #expect(mesh.fleet.stats["default/reviews-v2-0"]?.requestsServed == 0)
        }
    }

    // MARK: metrics

    @Test func metricsShowTheShadowsAsTheMirrorWorkloadsOwnReport() async throws {
        let yaml = Self.reviews(versions: ["v1": [:], "v2": [:]], mirrorRule: "mirror: {host: reviews, subset: v2}")
        try await AdminHarness.with(yaml: yaml) { harness in
            try await Self.expectAnsweredByV1(port: harness.mesh.port, count: 10)
            let v2Cluster = "outbound|9080|v2|reviews.default.svc.cluster.local"
            #expect(await TestMesh.waitUntil {
                let stats = await harness.mesh.proxy.collectStats()
                return stats.mirroredRequests.values.reduce(0) { $0 + $1.count } == 10 && stats.clusters[v2Cluster]?.activeRequests == 0
            })
            let metrics = try await harness.metrics()
            let v2Shadows: [String: String] = [
                "reporter": "destination", "destination_version": "v2", "destination_subset": "v2", "response_code": "200",
                "destination_service": "reviews.default.svc.cluster.local", "destination_workload": "reviews-v2", "response_flags": "-",
            ]
            #expect(metrics.sum("istio_requests_total", v2Shadows) == 10)
            #expect(metrics.sum("istio_request_duration_milliseconds_count", v2Shadows) == 10)
            #expect(metrics.sum("istio_requests_total", ["reporter": "source", "destination_version": "v2"]) == 0)
            #expect(metrics.sum("istio_requests_total", ["reporter": "source", "destination_version": "v1", "response_code": "200"]) == 10)
            #expect(metrics.sum("istio_requests_total", ["reporter": "destination", "destination_version": "v1"]) == 0)

            // Envoy's view: upstream requests of the mirror cluster, no downstream requests.
            let text = try await harness.get("/stats").body
            #expect(text.contains("cluster.\(v2Cluster).upstream_rq_200: 10\n"))
            #expect(text.contains("http.meshsim.downstream_rq_2xx: 10\n"))
        }
    }

    // MARK: configs/dark-launch

    /// The release engineer's rehearsal: every client answer comes from v1, while v2's error
    /// rate and latency show in its own `reporter="destination"` series, for comparison with v1.
    @Test func darkLaunchExampleAnswersFromV1AndReportsV2sShadowsAsItsOwn() async throws {
        try await AdminHarness.with(files: [TestConfigs.path("dark-launch")]) { harness in
            let count = 40
            for i in 0..<count {
                let response = try await harness.mesh.send(host: "httpbin", path: "/anything/\(i)")
                #expect(response.status == 200)
                #expect(response.headers.first(name: "x-meshsim-version") == "v1")
                #expect(response.headers.first(name: "x-meshsim-destination") == "httpbin.default.svc.cluster.local|v1")
            }
            // Shadows finish after their client requests: wait for all of them to be answered.
            let v2Cluster = "outbound|8000|v2|httpbin.default.svc.cluster.local"
            let v2Pod = "default/httpbin-v2-0"
            let settled = await TestMesh.waitUntil {
                let stats = await harness.mesh.proxy.collectStats()
                let mirrored = stats.mirroredRequests.filter { $0.key.cluster == v2Cluster }.values.reduce(0) { $0 + $1.count }
                return mirrored == UInt64(count) && stats.clusters[v2Cluster]?.activeRequests == 0
                    && harness.mesh.fleet.stats[v2Pod]?.requestsServed == count
            }
            #expect(settled)
            let errors = try #require(harness.mesh.fleet.stats[v2Pod]).errorsInjected
            // The mesh's seed is fixed (1), so v2's 10% draws repeat; Binomial(40, 0.1) has mean 4.
            #expect((1...20).contains(errors), "v2 injected \(errors) errors")

            let metrics = try await harness.metrics()
            let shadows = [
                "reporter": "destination", "destination_workload": "httpbin-v2", "destination_version": "v2",
                "destination_service": "httpbin.default.svc.cluster.local", "destination_subset": "v2",
            ]
            func with(_ code: String) -> [String: String] { shadows.merging(["response_code": code]) { $1 } }
            #expect(metrics.sum("istio_requests_total", shadows) == Double(count))
            #expect(metrics.sum("istio_requests_total", with("503")) == Double(errors))
            #expect(metrics.sum("istio_requests_total", with("200")) == Double(count - errors))
            #expect(metrics.sum("istio_request_duration_milliseconds_count", shadows) == Double(count))
            #expect(metrics.sum("istio_request_duration_milliseconds_count", with("503")) == Double(errors))
            // The client's proxy reports v1 alone, all 200: the dark launch is invisible to clients.
            #expect(metrics.sum("istio_requests_total", ["reporter": "source"]) == Double(count))
            #expect(metrics.sum("istio_requests_total", ["reporter": "source", "destination_workload": "httpbin-v1", "response_code": "200"]) == Double(count))
            #expect(metrics.sum("istio_requests_total", ["reporter": "destination", "destination_version": "v1"]) == 0)

            // Envoy's /stats: the shadows are the v2 cluster's upstream requests, by status.
            let text = try await harness.get("/stats").body
            #expect(text.contains("cluster.\(v2Cluster).upstream_rq_200: \(count - errors)\n"))
            #expect(text.contains("cluster.\(v2Cluster).upstream_rq_503: \(errors)\n"))
            #expect(text.contains("http.meshsim.downstream_rq_2xx: \(count)\n"))
        }
    }

    @Test func theShadowAuthorityKeepsThePort() {
        #expect(ShadowAuthority.rewrite("reviews") == "reviews-shadow")
        #expect(ShadowAuthority.rewrite("reviews.default.svc.cluster.local:9080") == "reviews.default.svc.cluster.local-shadow:9080")
        #expect(ShadowAuthority.rewrite("10.0.0.7:80") == "10.0.0.7-shadow:80")
        #expect(ShadowAuthority.rewrite("[::1]:8080") == "[::1]-shadow:8080")
        #expect(ShadowAuthority.rewrite("host:") == "host:-shadow")
    }
}
