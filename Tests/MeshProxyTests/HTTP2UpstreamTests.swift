import Foundation
import MeshHTTP2
import MeshProxy
import MeshTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// h2c towards upstreams: clusters of `grpc-*`/`http2-*` ports get multiplexed HTTP/2
/// connections to the simulated pods, from HTTP/2 and HTTP/1.1 clients alike.
@Suite struct HTTP2UpstreamTests {
    static let cluster = "outbound|50051||greeter.default.svc.cluster.local"
    static let grpcHeaders: HTTPHeaders = ["content-type": "application/grpc", "te": "trailers"]

    /// Service `greeter` (port `grpc-api` 50051) with one v1 pod and the given pod annotations,
    /// and a DestinationRule with `trafficPolicy` when one is given.
    static func greeter(annotations: String = "{}", trafficPolicy: String? = nil) -> String {
        let rule = trafficPolicy.map { FixtureYAML.destinationRule("greeter", spec: "trafficPolicy: \($0)") }
        return ([FixtureYAML.service("greeter", port: 50051, portName: "grpc-api"), FixtureYAML.deployment(app: "greeter", version: "v1", annotations: annotations)]
            + [rule].compactMap { $0 }).joined(separator: "\n---\n")
    }

    static func grpcCall(_ client: H2TestClient, path: String = "/helloworld.Greeter/SayHello") async throws -> HTTP2Response {
        var message = ByteBuffer(bytes: [0, 0, 0, 0, 5])
        message.writeString("hello")
        return try await client.request(
            HTTP2RequestHead(method: "POST", authority: "greeter:50051", path: path, headers: grpcHeaders), body: message)
    }

    /// curl's stdout and stderr, interleaved.
    static func curl(_ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.run(
            "/usr/bin/curl", ["-sS", "--max-time", "20"] + arguments, error: .mergedIntoOutput, timeout: .seconds(30))
        return result.stdout
    }

    @Test func h2ClientCallsAreMultiplexedOnOneUpstreamConnection() async throws {
        // 50 ms per answer keeps the 40 calls in flight together.
        try await TestMesh.with(yaml: Self.greeter(annotations: "{\"meshsim.dev/latency\": \"50ms\"}")) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                let responses = try await withThrowingTaskGroup(of: HTTP2Response.self) { group in
                    for _ in 0..<40 { group.addTask { try await Self.grpcCall(client) } }
                    var all: [HTTP2Response] = []
                    for try await response in group { all.append(response) }
                    return all
                }
                #expect(responses.count == 40)
                for response in responses {
                    #expect(response.head.status == 200)
                    #expect(response.head.headers.first(name: "x-meshsim-pod") == "greeter-v1-0")
                    #expect(response.trailers?.first(name: "grpc-status") == "0")
                    // One length-prefixed message.
                    #expect(response.body.getInteger(at: response.body.readerIndex, as: UInt8.self) == 0)
                    let length = response.body.getInteger(at: response.body.readerIndex + 1, as: UInt32.self)
                    #expect(length.map { Int($0) + 5 } == response.body.readableBytes)
                }
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            let stats = await mesh.proxy.collectStats()
            #expect(stats.clusters[Self.cluster]?.connectionsOpened == 1)
            #expect(mesh.fleet.stats["default/greeter-v1-0"]?.connectionsAccepted == 1)
            #expect(mesh.fleet.stats["default/greeter-v1-0"]?.requestsServed == 40)
            #expect(stats.requestCount(cluster: Self.cluster, responseCode: 200, requestProtocol: "grpc", grpcResponseStatus: "0") == 40)
        }
    }

    @Test func maxConcurrentStreamsOpensMoreConnections() async throws {
        let yaml = Self.greeter(annotations: "{\"meshsim.dev/latency\": \"2s\"}", trafficPolicy: "{connectionPool: {http: {maxConcurrentStreams: 2}}}")
        try await TestMesh.with(yaml: yaml) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                // Six calls held together by the pod's latency need three connections of two streams.
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<6 { group.addTask { try await Self.grpcCall(client).head.status } }
                    var all: [Int] = []
                    for try await status in group { all.append(status) }
                    return all
                }
                #expect(statuses == Array(repeating: 200, count: 6))
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            let stats = await mesh.proxy.collectStats()
            #expect(stats.clusters[Self.cluster]?.connectionsOpened == 3)
        }
    }

    @Test func http1ClientReachesH2cPodAndGetsTrailersChunked() async throws {
        try await TestMesh.with(yaml: Self.greeter()) { mesh in
            let plain = try await Self.curl(["-i", "--http1.1", "-H", "Host: greeter:50051", "http://127.0.0.1:\(mesh.port)/hello"])
            #expect(plain.hasPrefix("HTTP/1.1 200"), "\(plain)")
            #expect(plain.contains("x-meshsim-pod: greeter-v1-0"))
            #expect(plain.hasSuffix("workload=greeter-v1 version=v1 pod=greeter-v1-0 namespace=default\n"))
            // A gRPC-shaped call over HTTP/1.1: the upstream's trailers arrive as chunked trailers.
            let grpc = try await Self.curl([
                "-i", "--raw", "--http1.1", "-H", "Host: greeter:50051", "-H", "content-type: application/grpc", "-H", "TE: trailers",
                "--data-binary", "hello", "http://127.0.0.1:\(mesh.port)/helloworld.Greeter/SayHello",
            ])
            #expect(grpc.contains("transfer-encoding: chunked"), "\(grpc)")
            #expect(grpc.contains("\r\n0\r\ngrpc-status: 0\r\n\r\n"), "\(grpc)")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.cluster, responseCode: 200, requestProtocol: "http") == 2)
            #expect(mesh.fleet.stats["default/greeter-v1-0"]?.connectionsAccepted == 1)
        }
    }

    /// 16 MiB up and 8 MiB down through h2 → proxy → h2c: more than every window, so both
    /// directions only finish if consumed bytes are handed back as the other side takes them.
    @Test func largeBodiesFlowBothWays() async throws {
        try await TestMesh.with(yaml: Self.greeter(annotations: "{\"meshsim.dev/body-bytes\": \"8MiB\"}")) { mesh in
            let upload = try await Self.shell(
                "head -c 16777216 /dev/zero | /usr/bin/curl -sS --max-time 60 --http2-prior-knowledge -H 'Host: greeter:50051' "
                    + "--data-binary @- http://127.0.0.1:\(mesh.port)/echo")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(upload.utf8)) as? [String: Any], "\(upload)")
            #expect(json["bodyBytes"] as? Int == 16_777_216)
            #expect(json["httpVersion"] as? String == "HTTP/2.0")
            let download = try await Self.curl([
                "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H", "Host: greeter:50051",
                "http://127.0.0.1:\(mesh.port)/",
            ])
            #expect(download == "200 8388608")
            let http1 = try await Self.curl(["--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H", "Host: greeter:50051", "http://127.0.0.1:\(mesh.port)/"])
            #expect(http1 == "200 8388608")
        }
    }

    /// A shell pipeline's stdout and stderr, interleaved.
    static func shell(_ command: String) async throws -> String {
        try await ChildProcess.run("/bin/sh", ["-c", command], error: .mergedIntoOutput, timeout: .seconds(90)).stdout
    }

    @Test func clientResetCancelsTheUpstreamStreamOnly() async throws {
        try await TestMesh.with(yaml: Self.greeter(annotations: "{\"meshsim.dev/latency\": \"60s\"}")) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                let stream = try await client.open(
                    HTTP2RequestHead(method: "GET", authority: "greeter:50051", path: "/slow"), endStream: true)
                let started = await TestMesh.waitUntil { mesh.fleet.stats["default/greeter-v1-0"]?.inFlight == 1 }
                #expect(started)
                try await client.reset(stream)
                // The pod sees its stream cancelled: nothing left in flight there.
                let cancelled = await TestMesh.waitUntil { mesh.fleet.stats["default/greeter-v1-0"]?.inFlight == 0 }
                #expect(cancelled)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.cluster, flags: .downstreamRemoteReset) == 1)
            // The shared connection stayed open.
            #expect(stats.clusters[Self.cluster]?.connectionsOpened == 1)
            #expect(stats.clusters[Self.cluster]?.activeConnections == 1)
            #expect(mesh.fleet.stats["default/greeter-v1-0"]?.connectionsAccepted == 1)
        }
    }

    @Test func http2MaxRequestsOverflowIs503UO() async throws {
        let yaml = Self.greeter(annotations: "{\"meshsim.dev/latency\": \"60s\"}", trafficPolicy: "{connectionPool: {http: {http2MaxRequests: 1}}}")
        try await TestMesh.with(yaml: yaml) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                let held = try await client.open(HTTP2RequestHead(method: "GET", authority: "greeter:50051", path: "/"), endStream: true)
                let started = await TestMesh.waitUntil { mesh.fleet.stats["default/greeter-v1-0"]?.inFlight == 1 }
                #expect(started)
                let over = try await client.request(HTTP2RequestHead(method: "GET", authority: "greeter:50051", path: "/"))
                #expect(over.head.status == 503)
                #expect(over.head.headers.first(name: "x-envoy-overloaded") == "true")
                let grpcOver = try await Self.grpcCall(client)
                #expect(grpcOver.head.status == 200)
                #expect(grpcOver.head.headers.first(name: "grpc-status") == "14")
                try await client.reset(held)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.cluster, flags: .upstreamOverflow) == 2)
        }
    }

    @Test func upstreamResetIs503URAndGRPCUnavailable() async throws {
        let server = try await DelegatingH2Server.start(delegate: ResettingDelegate())
        do {
            let yaml = FixtureYAML.serviceEntry("resetter", host: "resetter.example", port: server.port, portName: "grpc", protocol: "GRPC")
            try await TestMesh.with(yaml: yaml) { mesh in
                let client = try await H2TestClient.connect(port: mesh.port)
                do {
                    let plain = try await client.request(HTTP2RequestHead(method: "GET", authority: "resetter.example:\(server.port)", path: "/"))
                    #expect(plain.head.status == 503)
                    let body = String(buffer: plain.body)
                    // Envoy names the RST_STREAM a remote reset (`resetReasonToString(RemoteReset)`).
                    #expect(body == "upstream connect error or disconnect/reset before headers. reset reason: remote reset", "\(body)")
                    var grpcHead = HTTP2RequestHead(method: "POST", authority: "resetter.example:\(server.port)", path: "/x.Y/Z")
                    grpcHead.headers = Self.grpcHeaders
                    let grpc = try await client.request(grpcHead, body: ByteBuffer(bytes: [0, 0, 0, 0, 0]))
                    #expect(grpc.head.status == 200)
                    #expect(grpc.head.headers.first(name: "grpc-status") == "14")
                    #expect(grpc.body.readableBytes == 0)
                    // The proxy's client connection survived both resets.
                    let again = try await client.request(HTTP2RequestHead(method: "GET", authority: "resetter.example:\(server.port)", path: "/"))
                    #expect(again.head.status == 503)
                } catch {
                    await client.shutdown()
                    throw error
                }
                await client.shutdown()
                let stats = await mesh.proxy.collectStats()
                let cluster = "outbound|\(server.port)||resetter.example"
                #expect(stats.requestCount(cluster: cluster, flags: .upstreamRemoteReset) == 3)
                #expect(stats.clusters[cluster]?.connectionsOpened == 1)
            }
            try await server.stop()
        } catch {
            try? await server.stop()
            throw error
        }
    }
    /// A pod that resets its stream after the response head: the client's connection is cut
    /// (HTTP/1.1 cannot be told otherwise), and the request is recorded with the reset's own
    /// flag, UR, as Envoy's router records a late reset (`onUpstreamAbort`), not UC.
    @Test func aResetAfterTheResponseHeadIsRecordedAsUR() async throws {
        let server = try await DelegatingH2Server.start(delegate: ResettingAfterHeadDelegate())
        do {
            let yaml = FixtureYAML.serviceEntry("resetter", host: "resetter.example", port: server.port, portName: "http2", protocol: "HTTP2")
            try await TestMesh.with(yaml: yaml) { mesh in
                let connection = try RawConnection(port: mesh.port)
                try await connection.send("GET / HTTP/1.1\r\nHost: resetter.example:\(server.port)\r\n\r\n")
                let raw = String(decoding: try await connection.readUntilClose(), as: UTF8.self)
                #expect(raw.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(raw)")
                #expect(raw.hasSuffix("\r\n\r\npartial"), "\(raw)")
                let cluster = "outbound|\(server.port)||resetter.example"
                #expect(await TestMesh.waitUntil { await mesh.proxy.collectStats().requestCount(cluster: cluster, responseCode: 200) == 1 })
                let recorded = await mesh.proxy.collectStats().requests.keys.filter { $0.cluster == cluster }
                #expect(recorded.count == 1)
                #expect(
                    recorded.allSatisfy { $0.responseFlags.contains(.upstreamRemoteReset) && !$0.responseFlags.contains(.upstreamConnectionTermination) },
                    "\(recorded)")
            }
            try await server.stop()
        } catch {
            try? await server.stop()
            throw error
        }
    }
}

/// A pod's HTTP/2 side that answers a response head and part of its body, and once those
/// bytes are written resets the stream (reset at once, nghttp2 would drop the unsent head).
final class ResettingAfterHeadDelegate: HTTP2ServerDelegate, Sendable {
    func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let eventLoop = connection.eventLoop else { return }
        try? connection.sendResponseHead(HTTP2ResponseHead(status: 200, headers: ["content-length": "100"]), stream: stream)
        let written = eventLoop.makePromise(of: Void.self)
        try? connection.sendBody(ByteBuffer(string: "partial"), stream: stream, promise: written)
        let bound = NIOLoopBound(connection, eventLoop: eventLoop)
        written.futureResult.whenSuccess { try? bound.value.resetStream(stream, code: .internalError) }
    }
    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
}

/// A pod's HTTP/2 side that resets every stream it is sent (RST_STREAM INTERNAL_ERROR).
final class ResettingDelegate: HTTP2ServerDelegate, Sendable {
    func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        try? connection.resetStream(stream, code: .internalError)
    }
    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
}
