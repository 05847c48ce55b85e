import MeshProxy
import Testing

/// Bodies stream through the proxy both ways with backpressure: the proxy holds at most about
/// one socket read of a body, however large the body.
@Suite struct StreamingTests {
    static let mebibyte = 1 << 20

    /// A 64 MiB upload, with Content-Length and chunked: the pod counts every byte while the
    /// proxy never holds more than a read's worth of it.
    @Test(arguments: [false, true])
    func largeUploadStreamsWithBoundedBuffering(chunked: Bool) async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")]) { mesh in
            let total = 64 * Self.mebibyte
            let piece = [UInt8](repeating: UInt8(ascii: "x"), count: Self.mebibyte)
            let connection = try RawConnection(port: mesh.port)
            if chunked {
                try await connection.send("POST /echo HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n")
                let header = Array("\(String(piece.count, radix: 16))\r\n".utf8)
                for _ in 0..<(total / piece.count) { try await connection.send(header + piece + [13, 10]) }
                try await connection.send("0\r\n\r\n")
            } else {
                try await connection.send("POST /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: \(total)\r\n\r\n")
                for _ in 0..<(total / piece.count) { try await connection.send(piece) }
            }
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyText.contains("\"bodyBytes\":\(total)"))
            let stats = await mesh.proxy.collectStats()
            #expect(stats.downstream.maxBufferedRequestBytes < Self.mebibyte)
        }
    }

    /// A 64 MiB response to a client that does not read at first: the proxy stops reading the
    /// pod (the queue towards the client stays small) and resumes when the client reads.
    @Test func largeDownloadToSlowClientIsBackpressured() async throws {
        let size = 64 * Self.mebibyte
        let yaml = TestMesh.service("big", versions: ["v1": ["meshsim.dev/body-bytes": String(size)]])
        try await TestMesh.with(yaml: yaml) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: big\r\n\r\n")
            // Not reading yet: wait until the proxy reports it had to queue towards this client.
            let queued = await TestMesh.waitUntil { await mesh.proxy.collectStats().downstream.maxQueuedResponseBytes > 0 }
            #expect(queued)
            let response = try await connection.readResponse(keepBody: false)
            #expect(response.status == 200)
            #expect(response.bodyLength == size)
            let stats = await mesh.proxy.collectStats()
            #expect(stats.downstream.maxQueuedResponseBytes < 4 * Self.mebibyte)
        }
    }

    @Test func expectContinueIsAnsweredByTheProxyBeforeTheBodyIsSent() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("POST /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            let interim = try await connection.readResponse()
            #expect(interim.status == 100)
            try await connection.send("hello")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyText.contains("\"bodyBytes\":5"))
            // Envoy does not forward the expectation.
            #expect(!response.bodyText.lowercased().contains("expect"))
        }
    }

    @Test func hopByHopHeadersGoAndForwardingHeadersCome() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET /echo HTTP/1.1\r\nHost: reviews\r\nConnection: keep-alive, x-drop-me\r\nX-Drop-Me: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\nTE: gzip\r\nX-Request-Id: fixed-id\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            let body = response.bodyText.lowercased()
            for header in ["x-drop-me", "keep-alive", "proxy-connection", "upgrade", "\"te\""] {
                #expect(!body.contains(header), "\(header) reached the pod")
            }
            #expect(body.contains("\"x-request-id\":\"fixed-id\""))
            #expect(body.contains("\"x-envoy-attempt-count\":\"1\""))
            // Istio's sidecar runs Envoy without use_remote_address: no x-forwarded-for is added.
            #expect(!body.contains("x-forwarded-for"))
            #expect(body.contains("\"x-forwarded-proto\":\"http\""))
            #expect(response.header("x-envoy-upstream-service-time").flatMap(Int.init) != nil)
            #expect(response.header("server") == "envoy")
        }
    }

    /// The client's own x-forwarded-for passes unchanged by default; with `useRemoteAddress`
    /// (PILOT_SIDECAR_USE_REMOTE_ADDRESS) the peer's address is appended, as Envoy does then.
    @Test(arguments: [false, true])
    func forwardedForFollowsUseRemoteAddress(useRemoteAddress: Bool) async throws {
        var configuration = TestMesh.configuration()
        configuration.useRemoteAddress = useRemoteAddress
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")], configuration: configuration) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET /echo HTTP/1.1\r\nHost: reviews\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n")
            let body = try await connection.readResponse().bodyText
            let expected = useRemoteAddress ? "203.0.113.7, 127.0.0.1" : "203.0.113.7"
            #expect(body.contains("\"x-forwarded-for\":\"\(expected)\""), "\(body)")
        }
    }
}
