import Foundation
import MeshProxy
import MeshTestSupport
import Testing

/// Which protocol reaches the pods, by the cluster's port protocol and the DestinationRule's
/// `h2UpgradePolicy` and `useClientProtocol`, with curl over HTTP/1.1 and over h2c as clients.
/// The pods' `/echo` says which version they were sent.
@Suite struct UpstreamProtocolSelectionTests {
    /// Service `web` (one port, named `portName`) with one v1 pod, and a DestinationRule with
    /// `trafficPolicy` when one is given.
    static func web(portName: String, trafficPolicy: String? = nil) -> String {
        let rule = trafficPolicy.map { FixtureYAML.destinationRule("web", spec: "trafficPolicy: \($0)") }
        return ([FixtureYAML.service("web", port: 80, portName: portName), FixtureYAML.deployment(app: "web", version: "v1")]
            + [rule].compactMap { $0 }).joined(separator: "\n---\n")
    }

    static let upgrade = "{connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}"

    enum Client: String, CaseIterable {
        case http1 = "--http1.1"
        case h2c = "--http2-prior-knowledge"
    }

    /// Expects the pod to see `version` for a request `client` sends through the mesh, with a body
    /// of `body` bytes when it is not empty (the pod counts what arrived).
    static func expectPodSees(
        _ version: String, _ mesh: LocalMesh, client: Client, body: String = "", sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var arguments = ["-sS", "--max-time", "20", client.rawValue, "-H", "Host: web", "http://127.0.0.1:\(mesh.port)/echo"]
        if !body.isEmpty { arguments += ["--data-binary", body] }
        let result = try await ChildProcess.run("/usr/bin/curl", arguments, timeout: .seconds(30))
        let echo = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "not an echo: \(result.stdout) \(result.stderr)")
        #expect(echo["bodyBytes"] as? Int == body.utf8.count, "\(echo)", sourceLocation: sourceLocation)
        #expect(echo["httpVersion"] as? String == version, "\(client.rawValue): \(echo)", sourceLocation: sourceLocation)
    }

    @Test func anHTTPPortSpeaksHTTP1ToThePodWhateverTheClientSpeaks() async throws {
        try await TestMesh.with(yaml: Self.web(portName: "http-web")) { mesh in
            try await Self.expectPodSees("HTTP/1.1", mesh, client: .http1)
            try await Self.expectPodSees("HTTP/1.1", mesh, client: .h2c, body: "hello")
        }
    }

    @Test func h2UpgradePolicyUpgradeSendsHTTP1ClientsOverH2c() async throws {
        try await TestMesh.with(yaml: Self.web(portName: "http-web", trafficPolicy: Self.upgrade)) { mesh in
            try await Self.expectPodSees("HTTP/2.0", mesh, client: .http1)
            try await Self.expectPodSees("HTTP/2.0", mesh, client: .http1, body: "a body of 23 bytes here")
            try await Self.expectPodSees("HTTP/2.0", mesh, client: .h2c)
            // One multiplexed connection carried all three.
            let stats = await mesh.proxy.collectStats()
            #expect(stats.clusters["outbound|80||web.default.svc.cluster.local"]?.connectionsOpened == 1)
        }
    }

    @Test func aSniffedPortUsesTheClientsProtocol() async throws {
        // A port Istio cannot classify ("web") is sniffed; its cluster uses the downstream protocol.
        try await TestMesh.with(yaml: Self.web(portName: "web")) { mesh in
            try await Self.expectPodSees("HTTP/2.0", mesh, client: .h2c)
            try await Self.expectPodSees("HTTP/1.1", mesh, client: .http1, body: "hello")
            try await Self.expectPodSees("HTTP/2.0", mesh, client: .h2c, body: "hello")
            // A pool per protocol, as Envoy keeps: one h2c and one HTTP/1.1 connection.
            let stats = await mesh.proxy.collectStats()
            #expect(stats.clusters["outbound|80||web.default.svc.cluster.local"]?.connectionsOpened == 2)
        }
    }

    @Test func useClientProtocolSendsHTTP1ClientsOverHTTP1EvenToAGRPCPort() async throws {
        let yaml = Self.web(portName: "grpc-web", trafficPolicy: "{connectionPool: {http: {useClientProtocol: true}}}")
        try await TestMesh.with(yaml: yaml) { mesh in
            try await Self.expectPodSees("HTTP/1.1", mesh, client: .http1)
            try await Self.expectPodSees("HTTP/2.0", mesh, client: .h2c)
        }
    }

    /// An HTTP/1.1 client's WebSocket goes over HTTP/1.1 to a cluster that follows the client,
    /// and is refused (503 UR, the reset Envoy gets without RFC 8441 at the pod) by one that
    /// speaks HTTP/2 whatever the client does.
    @Test(arguments: [
        ("web", nil as String?, "http/1.1 101 switching protocols"),
        ("http-web", "{connectionPool: {http: {useClientProtocol: true}}}", "http/1.1 101 switching protocols"),
        ("http-web", upgrade, "http/1.1 503"),
    ])
    func webSocketsFollowTheClustersProtocol(portName: String, trafficPolicy: String?, expectedStatusLine: String) async throws {
        try await TestMesh.with(yaml: Self.web(portName: portName, trafficPolicy: trafficPolicy)) { mesh in
            let client = try await WebSocketTestClient.connect(port: mesh.port)
            defer { Task { await client.close() } }
            // The sample handshake names host reviews; this mesh's service is web.
            try await client.send(WebSocketTestClient.handshake(path: "/chat").replacingOccurrences(of: "Host: reviews", with: "Host: web"))
            let head = try #require(try await client.readHead()).lowercased()
            #expect(head.hasPrefix(expectedStatusLine), "\(head)")
        }
    }

    @Test func aReloadThatUpgradesMovesNewRequestsToH2c() async throws {
        try await TestMesh.with(yaml: Self.web(portName: "http-web")) { mesh in
            try await Self.expectPodSees("HTTP/1.1", mesh, client: .http1)
            try await mesh.apply(resources: TestMesh.resources(Self.web(portName: "http-web", trafficPolicy: Self.upgrade)))
            try await Self.expectPodSees("HTTP/2.0", mesh, client: .http1)
            try await mesh.apply(resources: TestMesh.resources(Self.web(portName: "http-web")))
            try await Self.expectPodSees("HTTP/1.1", mesh, client: .http1)
        }
    }

    @Test func configDumpNamesEachClustersUpstreamProtocol() async throws {
        let yaml = Self.web(portName: "http-web", trafficPolicy: Self.upgrade)
        try await AdminHarness.with(yaml: yaml) { harness in
            let dump = try #require(try JSONSerialization.jsonObject(with: Data(try await harness.get("/config_dump").body.utf8)) as? [String: Any])
            let clusters = try #require(dump["clusters"] as? [[String: Any]])
            let web = try #require(clusters.first { $0["name"] as? String == "outbound|80||web.default.svc.cluster.local" })
            #expect(web["upstream_protocol"] as? String == "HTTP/2")
        }
    }
}
