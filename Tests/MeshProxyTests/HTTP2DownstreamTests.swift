import Foundation
import MeshHTTP2
import MeshProxy
import MeshTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// HTTP/2 clients (prior knowledge and `Upgrade: h2c`) on the proxy's one port, beside HTTP/1.1:
/// each stream is routed and forwarded to the HTTP/1.1 pods exactly as an HTTP/1.1 request is.
@Suite struct HTTP2DownstreamTests {
    static let v1 = "outbound|9080|v1|reviews.default.svc.cluster.local"
    static let v2 = "outbound|9080|v2|reviews.default.svc.cluster.local"
    static let mebibyte = 1 << 20

    static func curl(_ arguments: [String], timeout: TimeInterval = 60) async throws -> (status: Int32, output: String) {
        try await RealClientTests.run("curl", ["-s", "--max-time", "30"] + arguments, timeout: timeout)
    }

    @Test func priorKnowledgeHeaderRoutingAndHTTP1OnTheSamePort() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("header-routing")]) { mesh in
            let url = "http://127.0.0.1:\(mesh.port)/"
            let beta = try await Self.curl(["-i", "--http2-prior-knowledge", "-H", "Host: reviews", "-H", "x-user-group: beta", url])
            #expect(beta.output.hasPrefix("HTTP/2 200"), "\(beta.output)")
            #expect(beta.output.contains("x-meshsim-route: default/reviews/beta-users"))
            #expect(beta.output.contains("x-meshsim-version: v2"))
            let plain = try await Self.curl(["-i", "--http2-prior-knowledge", "-H", "Host: reviews", url])
            #expect(plain.output.hasPrefix("HTTP/2 200"))
            #expect(plain.output.contains("x-meshsim-version: v1"))
            let http1 = try await Self.curl(["-i", "--http1.1", "-H", "Host: reviews", "-H", "x-user-group: beta", url])
            #expect(http1.output.hasPrefix("HTTP/1.1 200"))
            #expect(http1.output.contains("x-meshsim-version: v2"))
        }
    }

    @Test func upgradeH2CIsServedAsStreamOne() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("header-routing")]) { mesh in
            let result = try await Self.curl([
                "-i", "--http2", "-H", "Host: reviews", "-H", "x-user-group: beta", "http://127.0.0.1:\(mesh.port)/",
                "http://127.0.0.1:\(mesh.port)/",
            ])
            #expect(result.output.hasPrefix("HTTP/1.1 101 Switching Protocols"), "\(result.output)")
            // The upgrading request and a second one on the same (now HTTP/2) connection.
            #expect(result.output.components(separatedBy: "HTTP/2 200").count == 3, "\(result.output)")
            #expect(result.output.contains("x-meshsim-version: v2"))
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.v2, responseCode: 200) == 2)
        }
    }

    @Test func errorAnswersAndDebugHeadersMatchHTTP1() async throws {
        let yaml = TestMesh.service("ratings", versions: ["v1": [:]]) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: ratings, namespace: default}
            spec:
              host: ratings
              subsets: [{name: v1, labels: {version: v1}}, {name: v3, labels: {version: v3}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: ratings, namespace: default}
            spec:
              hosts: [ratings]
              http:
              - route: [{destination: {host: ratings, subset: v3}}]
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let url = "http://127.0.0.1:\(mesh.port)/"
            for (host, status, body) in [("nowhere", 404, ""), ("ratings", 503, "no healthy upstream")] {
                let h2 = try await Self.curl(["-i", "--http2-prior-knowledge", "-H", "Host: \(host)", url])
                let h1 = try await Self.curl(["-i", "--http1.1", "-H", "Host: \(host)", url])
                #expect(h2.output.hasPrefix("HTTP/2 \(status)"), "\(h2.output)")
                #expect(h1.output.hasPrefix("HTTP/1.1 \(status)"), "\(h1.output)")
                #expect(h2.output.hasSuffix(body) && h1.output.hasSuffix(body))
                let debug = { (text: String) in text.split(separator: "\r\n").filter { $0.hasPrefix("x-meshsim-") }.sorted() }
                #expect(debug(h2.output) == debug(h1.output))
            }
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: nil, responseCode: 404, flags: .noRouteFound) == 2)
            #expect(stats.requestCount(cluster: "outbound|9080|v3|ratings.default.svc.cluster.local", responseCode: 503, flags: .noHealthyUpstream) == 2)
        }
    }

    /// h2load over a 75/25 split in exact mode: exactly the configured counts, no failures.
    @Test func h2loadWeightedSplitIsExact() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/25-canary-25.yaml")]) { mesh in
            let result = try await RealClientTests.run(
                "h2load", ["-n", "2000", "-c", "4", "-m", "10", "-H", ":authority: reviews", "http://127.0.0.1:\(mesh.port)/"], timeout: 120)
            #expect(result.output.contains("2000 succeeded, 0 failed, 0 errored"), "\(result.output)")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.v1, responseCode: 200) == 1500)
            #expect(stats.requestCount(cluster: Self.v2, responseCode: 200) == 500)
        }
    }

    @Test func nghttpWithHeadersAndABody() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("header-routing")]) { mesh in
            let body = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-h2-\(UUID().uuidString)")
            try Data(repeating: UInt8(ascii: "b"), count: 100_000).write(to: body)
            defer { try? FileManager.default.removeItem(at: body) }
            let result = try await RealClientTests.run(
                "nghttp", ["-v", "-H", ":authority: reviews", "-H", "x-user-group: beta", "-d", body.path, "http://127.0.0.1:\(mesh.port)/echo"])
            #expect(result.status == 0)
            #expect(result.output.contains("x-meshsim-version: v2"), "\(result.output)")
            #expect(result.output.contains("\"bodyBytes\":100000"))
        }
    }

    /// 32 MiB each way; the proxy holds at most a window's worth of either.
    @Test func largeBodiesBothWaysWithBoundedBuffering() async throws {
        let size = 32 * Self.mebibyte
        let yaml = TestMesh.service("big", versions: ["v1": ["meshsim.dev/body-bytes": String(size)]])
        try await TestMesh.with(yaml: yaml) { mesh in
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-h2-up-\(UUID().uuidString)")
            try Data(repeating: UInt8(ascii: "u"), count: size).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let url = "http://127.0.0.1:\(mesh.port)"
            let up = try await Self.curl(["--http2-prior-knowledge", "-H", "Host: big", "--data-binary", "@\(file.path)", "\(url)/echo"])
            #expect(up.output.contains("\"bodyBytes\":\(size)"), "\(up.output)")
            let down = try await Self.curl(["--http2-prior-knowledge", "-H", "Host: big", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(url)/"])
            #expect(down.output == "200 \(size)")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.downstream.maxBufferedRequestBytes < Self.mebibyte)
            #expect(stats.downstream.maxQueuedResponseBytes < 4 * Self.mebibyte)
        }
    }

    /// An upload that stalls: the stream idle timeout answers 408 (HEADERS with END_STREAM) and
    /// the request is counted 408 with flag SI, as Envoy's `stream_idle_timeout` does.
    @Test func aStalledUploadTimesOutWith408AndFlagSI() async throws {
        var configuration = TestMesh.configuration()
        configuration.limits.streamIdleTimeout = .milliseconds(300)
        try await TestMesh.with(files: [TestConfigs.path("reviews")], configuration: configuration) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            let watcher = StreamWatcher()
            let outcome: StreamWatcher.Outcome
            do {
                _ = try await client.open(
                    HTTP2RequestHead(method: "PUT", authority: "reviews", path: "/echo", headers: ["content-length": "10"]),
                    endStream: false, watcher: watcher)
                outcome = await watcher.waitForOutcome()
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            #expect(outcome.status == 408, "\(outcome)")
            #expect(outcome.headEndedStream)
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|9080||reviews.default.svc.cluster.local", responseCode: 408, flags: .streamIdleTimeout) == 1,
                    "\(stats.requests.keys)")
        }
    }

    /// The client's connection closing under a request in flight is DC, not DR.
    @Test func clientConnectionCloseIsADownstreamConnectionTermination() async throws {
        let yaml = TestMesh.service("slow", versions: ["v1": ["meshsim.dev/latency": "20s"]])
        try await TestMesh.with(yaml: yaml) { mesh in
            let cluster = "outbound|9080||slow.default.svc.cluster.local"
            let client = try await H2TestClient.connect(port: mesh.port)
            let opened: Bool
            do {
                _ = try await client.open(HTTP2RequestHead(method: "GET", authority: "slow", path: "/"), endStream: true)
                opened = await TestMesh.waitUntil { mesh.fleet.stats.values.reduce(0) { $0 + $1.inFlight } == 1 }
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            #expect(opened)
            let flagged = await TestMesh.waitUntil {
                await mesh.proxy.collectStats().requestCount(cluster: cluster, responseCode: 0, flags: .downstreamConnectionTermination) == 1
            }
            let stats = await mesh.proxy.collectStats()
            #expect(flagged, "\(stats.requests.keys)")
        }
    }

    /// RST_STREAM from the client while the pod is still working: the upstream request is
    /// cancelled (its connection closed) and flagged DR with code 0, as Envoy's connection
    /// manager records a remote reset (DC is for a closed connection).
    @Test func clientResetCancelsTheUpstreamRequest() async throws {
        let yaml = TestMesh.service("slow", versions: ["v1": ["meshsim.dev/latency": "20s"]])
        try await TestMesh.with(yaml: yaml) { mesh in
            let cluster = "outbound|9080||slow.default.svc.cluster.local"
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                let stream = try await client.open(HTTP2RequestHead(method: "GET", authority: "slow", path: "/"), endStream: true)
                let inFlight = { mesh.fleet.stats.values.reduce(0) { $0 + $1.inFlight } }
                let sent = await TestMesh.waitUntil { inFlight() == 1 }
                #expect(sent)
                try await client.reset(stream)
                let cancelled = await TestMesh.waitUntil {
                    let stats = await mesh.proxy.collectStats()
                    return stats.requestCount(cluster: cluster, responseCode: 0, flags: .downstreamRemoteReset) == 1
                        && stats.clusters[cluster]?.activeConnections == 0
                }
                let after = await mesh.proxy.collectStats()
                #expect(cancelled, "\(after.requests.keys) \(String(describing: after.clusters[cluster]))")
                // The connection carries on.
                let other = try await client.request(HTTP2RequestHead(method: "GET", authority: "nowhere", path: "/"))
                #expect(other.head.status == 404)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }

    /// Shutdown sends GOAWAY to HTTP/2 clients and lets the stream in flight finish.
    @Test func shutdownDrainsHTTP2StreamsInFlight() async throws {
        // Long enough that a busy 2-core machine still sees the request in flight before shutdown.
        let yaml = TestMesh.service("slow", versions: ["v1": ["meshsim.dev/latency": "5s"]])
        try await TestMesh.with(yaml: yaml) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                async let response = client.request(HTTP2RequestHead(method: "GET", authority: "slow", path: "/"))
                let inFlight = await TestMesh.waitUntil { mesh.fleet.stats.values.reduce(0) { $0 + $1.inFlight } == 1 }
                #expect(inFlight)
                try await mesh.proxy.shutdown()
                #expect(try await response.head.status == 200)
                // GOAWAY arrived: the connection takes no new stream.
                await #expect(throws: (any Error).self) {
                    _ = try await client.request(HTTP2RequestHead(method: "GET", authority: "slow", path: "/"))
                }
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }

    /// The stats key tells HTTP/1.1, HTTP/2 and gRPC apart, and carries gRPC's status.
    @Test func statsKeyCarriesRequestProtocolAndGRPCStatus() async throws {
        let yaml = TestMesh.service("greeter", versions: ["v1": [:]]) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: greeter, namespace: default}
            spec:
              hosts: [greeter]
              http:
              - match: [{uri: {prefix: /helloworld.Greeter/Fail}}]
                fault: {abort: {grpcStatus: "14", percentage: {value: 100}}}
                route: [{destination: {host: greeter}}]
              - route: [{destination: {host: greeter}}]
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let cluster = "outbound|9080||greeter.default.svc.cluster.local"
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                // A gRPC-shaped unary call: 5-byte length prefix, then the message.
                var message = ByteBuffer(bytes: [0, 0, 0, 0, 5])
                message.writeString("hello")
                let grpcHeaders: HTTPHeaders = ["content-type": "application/grpc", "te": "trailers"]
                let ok = try await client.request(
                    HTTP2RequestHead(method: "POST", authority: "greeter", path: "/helloworld.Greeter/SayHello", headers: grpcHeaders), body: message)
                #expect(ok.head.status == 200)
                let failed = try await client.request(
                    HTTP2RequestHead(method: "POST", authority: "greeter", path: "/helloworld.Greeter/Fail", headers: grpcHeaders), body: message)
                #expect(failed.head.status == 200)
                #expect(failed.head.headers.first(name: "grpc-status") == "14")
                _ = try await client.request(HTTP2RequestHead(method: "GET", authority: "greeter", path: "/"))
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            _ = try await Self.curl(["-o", "/dev/null", "--http1.1", "-H", "Host: greeter", "http://127.0.0.1:\(mesh.port)/"])
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: cluster, requestProtocol: "grpc") == 2)
            #expect(stats.requestCount(cluster: cluster, flags: .faultInjected, requestProtocol: "grpc", grpcResponseStatus: "14") == 1)
            #expect(stats.requestCount(cluster: cluster, requestProtocol: "http/2") == 1)
            #expect(stats.requestCount(cluster: cluster, requestProtocol: "http") == 1)
        }
    }

    /// A malformed frame ends that connection (GOAWAY); other connections keep being served.
    @Test func malformedFrameEndsOnlyItsConnection() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")]) { mesh in
            let healthy = try await H2TestClient.connect(port: mesh.port)
            do {
                let bad = try RawConnection(port: mesh.port)
                let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
                let settings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]
                // A PING frame of 3 bytes (PING must be 8): FRAME_SIZE_ERROR.
                let badPing: [UInt8] = [0, 0, 3, 6, 0, 0, 0, 0, 0, 1, 2, 3]
                try await bad.send(preface + settings + badPing)
                let reply = try await bad.readUntilClose()
                // GOAWAY (type 7) somewhere in what the proxy sent before closing.
                #expect(Self.frameTypes(reply).contains(7))
                let response = try await healthy.request(HTTP2RequestHead(method: "GET", authority: "reviews", path: "/"))
                #expect(response.head.status == 200)
                let fresh = try await Self.curl(["-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge", "-H", "Host: reviews", "http://127.0.0.1:\(mesh.port)/"])
                #expect(fresh.output == "200")
            } catch {
                await healthy.shutdown()
                throw error
            }
            await healthy.shutdown()
        }
    }

    /// A malformed request (an upper-case field name) ends its connection with GOAWAY, as
    /// Envoy's codec does, and is counted as `downstream_cx_protocol_error`; other connections
    /// keep being served.
    @Test func malformedRequestEndsItsConnectionAndIsCounted() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")]) { mesh in
            let bad = try RawConnection(port: mesh.port)
            let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
            let settings: [UInt8] = [0, 0, 0, 4, 0, 0, 0, 0, 0]
            // :method GET, :scheme http, :path /, :authority reviews, then `X-Bad: 1` as a
            // literal with a new name (HPACK without Huffman coding).
            let block: [UInt8] = [0x82, 0x86, 0x84, 0x01, 7] + Array("reviews".utf8) + [0x00, 5] + Array("X-Bad".utf8) + [1] + Array("1".utf8)
            // HEADERS (type 1), END_STREAM | END_HEADERS, stream 1.
            let headers: [UInt8] = [0, 0, UInt8(block.count), 1, 0x05, 0, 0, 0, 1] + block
            try await bad.send(preface + settings + headers)
            let reply = try await bad.readUntilClose()
            #expect(Self.frameTypes(reply).contains(7))
            #expect(await mesh.proxy.collectStats().downstream.protocolErrors == 1)
            let fresh = try await Self.curl(["-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge", "-H", "Host: reviews", "http://127.0.0.1:\(mesh.port)/"])
            #expect(fresh.output == "200")
        }
    }

    static func frameTypes(_ bytes: [UInt8]) -> [UInt8] {
        var types: [UInt8] = []
        var index = 0
        while index + 9 <= bytes.count, types.count < 100 {
            let length = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            types.append(bytes[index + 3])
            index += 9 + length
        }
        return types
    }
}
