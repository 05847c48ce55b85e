import MeshProxy
import MeshTestSupport
import Testing

/// Upgrades as Istio's sidecar handles them: its HTTP connection manager allows `websocket` on
/// every route, so a WebSocket handshake goes to the pod with its upgrade fields and, once the
/// pod answers 101, bytes pass both ways unchanged until a side closes; any other upgrade, and
/// CONNECT, is answered 403.
@Suite struct UpgradeTests {
    static func service(_ upstream: TunnelUpstream) -> String {
        FixtureYAML.serviceEntry("chat", host: "chat.example", port: upstream.port)
    }

    /// A mesh routing `chat.example` (or what `yaml` says) to a `TunnelUpstream` answering
    /// `answer`, and a raw client connected to the mesh; the upstream stops afterwards.
    static func withTunnel(
        _ answer: String = TunnelUpstream.switching, yaml: ((TunnelUpstream) -> String)? = nil,
        _ body: (LocalMesh, TunnelUpstream, RawConnection) async throws -> Void
    ) async throws {
        let upstream = try await TunnelUpstream(answer: answer)
        do {
            try await TestMesh.with(yaml: yaml?(upstream) ?? service(upstream)) { mesh in
                try await body(mesh, upstream, try RawConnection(port: mesh.port))
            }
        } catch {
            await upstream.stop()
            throw error
        }
        await upstream.stop()
    }

    static let handshake =
        "GET /socket HTTP/1.1\r\nHost: chat.example\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    @Test func webSocketUpgradeBecomesATunnelBothWays() async throws {
        try await Self.withTunnel { mesh, upstream, client in
            try await client.send(Self.handshake)
            let response = try await client.readResponse()
            #expect(response.status == 101)
            #expect(response.header("connection")?.lowercased() == "upgrade")
            #expect(response.header("upgrade") == "websocket")
            #expect(response.header("sec-websocket-accept") == "x")
            // The pod got the handshake with its upgrade fields and the client's key.
            let head = try #require(upstream.heads.first).lowercased()
            #expect(head.hasPrefix("get /socket http/1.1"))
            #expect(head.contains("connection: upgrade"))
            #expect(head.contains("upgrade: websocket"))
            #expect(head.contains("sec-websocket-key: dghlihnhbxbszsbub25jzq=="))
            #expect(head.contains("x-request-id: "))

            // Bytes that look like HTTP are not parsed as a request: they are the tunnel's.
            let payload = Array("GET /not-a-request HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + (0..<300).map { UInt8($0 % 256) }
            try await client.send(payload)
            #expect(try await client.read(count: payload.count) == payload)
            let bigger = [UInt8](repeating: 0x5A, count: 200_000)
            try await client.send(bigger)
            #expect(try await client.read(count: bigger.count) == bigger)

            var stats = await mesh.proxy.collectStats()
            #expect(stats.downstream.upgrades == 1)
            #expect(stats.downstream.activeUpgrades == 1)
            #expect(upstream.heads.count == 1)

            // The client leaves: the proxy closes the pod's side too.
            client.hangUp()
            #expect(await TestMesh.waitUntil { upstream.closedConnections == 1 })
            #expect(await TestMesh.waitUntil { await mesh.proxy.collectStats().downstream.activeUpgrades == 0 })
            stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|\(upstream.port)||chat.example", responseCode: 101, flags: [.downstreamConnectionTermination]) == 1)
        }
    }

    /// The first tunnel bytes may come in the same segment as the handshake (or before the pod
    /// answered): they wait, and reach the pod after the head.
    /// End to end with simulated pods: a header rule sends the WebSocket to v2, whose pod takes
    /// the handshake (RFC 6455 accept value) and echoes frames through the tunnel; closing
    /// completes both ways and the request is counted against v2 with code 101.
    @Test func webSocketThroughTheMeshToASimulatedPod() async throws {
        let yaml = TestMesh.service("reviews", versions: ["v1": [:], "v2": [:]]) + "---\n"
            + FixtureYAML.destinationRule("reviews", versions: ["v1", "v2"]) + "\n---\n"
            + FixtureYAML.virtualService("reviews", hosts: ["reviews"], http: """
                - match: [{headers: {x-user-group: {exact: beta}}}]
                  route: [{destination: {host: reviews, subset: v2}}]
                - route: [{destination: {host: reviews, subset: v1}}]
                """)
        try await TestMesh.with(yaml: yaml) { mesh in
            let client = try await WebSocketTestClient.connect(port: mesh.port)
            defer { Task { await client.close() } }
            try await client.send(WebSocketTestClient.handshake(path: "/chat", extra: "x-user-group: beta\r\n"))
            let head = try #require(try await client.readHead()).lowercased()
            #expect(head.hasPrefix("http/1.1 101 switching protocols"))
            #expect(head.contains("sec-websocket-accept: \(WebSocketTestClient.sampleAccept.lowercased())"))
            #expect(head.contains("x-meshsim-version: v2"))
            #expect(head.contains("x-meshsim-destination: reviews.default.svc.cluster.local|v2"))

            try await client.send(TestFrame(text: "hello through the mesh"))
            let hello = try #require(try await client.readFrame())
            #expect(hello.opcode == TestFrame.text && hello.fin && !hello.masked)
            #expect(hello.payload == Array("hello through the mesh".utf8))
            let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try await client.send(TestFrame(opcode: TestFrame.binary, payload: payload))
            let echo = try #require(try await client.readFrame())
            #expect(echo.opcode == TestFrame.binary && echo.lengthIndicator == 127)
            #expect(echo.payload == payload)
            try await client.send(TestFrame(closeCode: 1000))
            #expect(try await client.readFrame()?.closeCode == 1000)
            #expect(try await client.waitForEOF())

            let v2 = "outbound|9080|v2|reviews.default.svc.cluster.local"
            #expect(await TestMesh.waitUntil { await mesh.proxy.collectStats().requestCount(cluster: v2, responseCode: 101) == 1 })
            let stats = await mesh.proxy.collectStats()
            #expect(stats.downstream.upgrades == 1)
            #expect(stats.downstream.activeUpgrades == 0)
        }
    }

    /// configs/websocket-canary: the page's preflight is answered from the corsPolicy, and a beta
    /// user's socket goes to v2 and echoes, the allowed origin echoed on the 101.
    @Test func theWebSocketCanaryExample() async throws {
        try await TestMesh.with(files: [TestConfigs.path("websocket-canary")]) { mesh in
            let preflight = try RawConnection(port: mesh.port)
            try await preflight.send(
                "OPTIONS /socket HTTP/1.1\r\nHost: chat:8080\r\nOrigin: https://chat.example.com\r\n"
                    + "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-user-group\r\n\r\n")
            let allowed = try await preflight.readResponse()
            #expect(allowed.status == 200)
            #expect(allowed.header("access-control-allow-origin") == "https://chat.example.com")
            #expect(allowed.header("access-control-allow-headers") == "x-user-group,content-type")
            #expect(allowed.header("access-control-max-age") == "600")

            let client = try await WebSocketTestClient.connect(port: mesh.port)
            defer { Task { await client.close() } }
            try await client.send(WebSocketTestClient.handshake(
                path: "/socket", extra: "Origin: https://chat.example.com\r\nx-user-group: beta\r\n").replacingOccurrences(of: "Host: reviews", with: "Host: chat:8080"))
            let head = try #require(try await client.readHead()).lowercased()
            #expect(head.hasPrefix("http/1.1 101"))
            #expect(head.contains("x-meshsim-version: v2"))
            #expect(head.contains("access-control-allow-origin: https://chat.example.com"))
            try await client.send(TestFrame(text: "hi"))
            #expect(try await client.readFrame()?.payload == Array("hi".utf8))
        }
    }

    @Test func bytesSentWithTheHandshakeReachThePod() async throws {
        try await Self.withTunnel { mesh, upstream, client in
            try await client.send(Self.handshake + "early bytes")
            #expect(try await client.readResponse().status == 101)
            #expect(String(decoding: try await client.read(count: 11), as: UTF8.self) == "early bytes")
        }
    }

    @Test func podClosingTheTunnelClosesTheClient() async throws {
        try await Self.withTunnel { mesh, upstream, client in
            try await client.send(Self.handshake)
            #expect(try await client.readResponse().status == 101)
            upstream.closeConnections()
            #expect(await client.waitForClose())
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|\(upstream.port)||chat.example", responseCode: 101, flags: []) == 1)
        }
    }

    /// A pod that does not take the upgrade answers as usual; the connection closes after it
    /// (what followed the handshake was meant for the tunnel).
    @Test func podDecliningTheUpgradeAnswersNormallyAndCloses() async throws {
        try await Self.withTunnel("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 2\r\n\r\nno") { mesh, upstream, client in
            try await client.send(Self.handshake)
            let response = try await client.readResponse()
            #expect(response.status == 426)
            #expect(response.bodyText == "no")
            #expect(response.header("connection") == "close")
            #expect(await client.waitForClose())
            #expect(await mesh.proxy.collectStats().downstream.upgrades == 0)
        }
    }

    /// Envoy refuses upgrades its config does not name, and CONNECT, with an empty 403; nothing
    /// reaches the pod. An `Upgrade` without `Connection: upgrade` is no upgrade at all: the
    /// field is dropped and the request served.
    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: TLS/1.2\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: foo, websocket\r\n\r\n",
        "CONNECT chat.example:443 HTTP/1.1\r\nHost: chat.example:443\r\n\r\n",
    ])
    func otherUpgradesAndConnectAre403(request: String) async throws {
        try await Self.withTunnel { mesh, upstream, client in
            try await client.send(request)
            let response = try await client.readResponse()
            #expect(response.status == 403)
            #expect(response.body.isEmpty)
            #expect(response.header("connection") == "close")
            #expect(upstream.heads.isEmpty)
        }
    }

    /// Envoy would send the WebSocket to an h2c pod as an RFC 8441 CONNECT, which a pod without it
    /// resets: 503 UR, and nothing reaches the pod.
    @Test func webSocketToAnHTTP2PodIs503UR() async throws {
        let http2Service = { (upstream: TunnelUpstream) in
            FixtureYAML.serviceEntry("chat", host: "chat.example", port: upstream.port, portName: "http2", protocol: "HTTP2")
        }
        try await Self.withTunnel(yaml: http2Service) { mesh, upstream, client in
            try await client.send(Self.handshake)
            let response = try await client.readResponse()
            #expect(response.status == 503)
            #expect(response.header("connection") == "close")
            #expect(upstream.heads.isEmpty)
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|\(upstream.port)||chat.example", responseCode: 503, flags: [.upstreamRemoteReset]) == 1)
        }
    }

    /// Envoy checks the Host before it looks at the upgrade: no Host is still a 400.
    @Test func aRefusedUpgradeWithoutHostIs400() async throws {
        try await Self.withTunnel { mesh, upstream, client in
            try await client.send("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
            #expect(try await client.readResponse().status == 400)
        }
    }

    /// `OPTIONS *` has no path to route: Envoy answers an empty 404 before routing.
    @Test func optionsAsteriskIs404BeforeRouting() async throws {
        try await Self.withTunnel { mesh, upstream, client in
            try await client.send("OPTIONS * HTTP/1.1\r\nHost: chat.example\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 404)
            #expect(response.body.isEmpty)
            // The connection goes on.
            try await client.send("OPTIONS * HTTP/1.1\r\nHost: chat.example\r\n\r\n")
            #expect(try await client.readResponse().status == 404)
            #expect(upstream.heads.isEmpty)
            #expect(await mesh.proxy.collectStats().downstream.nonRelativePaths == 2)
        }
    }

    @Test func upgradeFieldWithoutConnectionUpgradeIsDropped() async throws {
        try await Self.withTunnel("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") { mesh, upstream, client in
            try await client.send("GET / HTTP/1.1\r\nHost: chat.example\r\nUpgrade: websocket\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("connection") != "close")
            let head = try #require(upstream.heads.first).lowercased()
            #expect(!head.contains("upgrade"))
        }
    }
}
