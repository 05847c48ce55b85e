import MeshProxy
import Testing

/// Responses as upstreams send them, through the proxy's own HTTP/1.1 response decoder: every
/// framing, interim answers, and the broken ones, each with what the client gets and whether the
/// upstream connection is used again.
@Suite struct HTTP1UpstreamTests {
    static func with(_ upstream: ScriptedUpstream, _ body: (LocalMesh) async throws -> Void) async throws {
        do {
            try await TestMesh.with(yaml: UpstreamFailureTests.deadService(port: upstream.port, retries: "\n  retries: {attempts: 0}"), body)
        } catch {
            await upstream.stop()
            throw error
        }
        await upstream.stop()
    }

    static func cluster(_ upstream: ScriptedUpstream) -> String { "outbound|\(upstream.port)||dead.example" }

    @Test func aBodyDelimitedByTheCloseIsForwardedWholeAndTheConnectionIsNotReused() async throws {
        let upstream = try await ScriptedUpstream { _ in
            .init(bytes: "HTTP/1.0 200 OK\r\nX-Old: yes\r\n\r\nall of this, until the close", thenClose: true)
        }
        try await Self.with(upstream) { mesh in
            let connection = try RawConnection(port: mesh.port)
            for _ in 0..<2 {
                try await connection.send("GET / HTTP/1.1\r\nHost: dead.example\r\n\r\n")
                let response = try await connection.readResponse()
                #expect(response.status == 200)
                #expect(response.bodyText == "all of this, until the close")
                // An HTTP/1.1 client gets it chunked, and its connection stays open.
                #expect(response.header("transfer-encoding") == "chunked")
            }
            #expect(upstream.connectionsAccepted == 2)
        }
    }

    /// Istio sets `include_request_attempt_count`: each try tells the pod which one it is.
    @Test func eachAttemptCarriesItsAttemptCount() async throws {
        let upstream = try await ScriptedUpstream { index in
            .init(bytes: index == 0 ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        }
        defer { Task { await upstream.stop() } }
        let yaml = UpstreamFailureTests.deadService(port: upstream.port, retries: "\n  retries: {attempts: 2, retryOn: \"503\"}")
        try await TestMesh.with(yaml: yaml) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: dead.example\r\nX-Envoy-Attempt-Count: 9\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)
            let heads = upstream.requests.map { $0.lowercased() }
            #expect(heads.count == 2)
            #expect(heads.first?.contains("x-envoy-attempt-count: 1") == true)
            #expect(heads.last?.contains("x-envoy-attempt-count: 2") == true)
            #expect(!heads.contains { $0.contains("x-envoy-attempt-count: 9") })
        }
    }

    @Test func chunkedResponsesWithTrailersPassThroughOnOneConnection() async throws {
        let upstream = try await ScriptedUpstream { _ in
            .init(bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nx-checksum: 42\r\n\r\n")
        }
        try await Self.with(upstream) { mesh in
            let first = try RawConnection(port: mesh.port)
            try await first.send("GET /1 HTTP/1.1\r\nHost: dead.example\r\n\r\n")
            let response = try await first.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyText == "wikipedia")
            // Raw bytes, to see the trailer the client gets after the last chunk.
            let second = try RawConnection(port: mesh.port)
            try await second.send("GET /2 HTTP/1.1\r\nHost: dead.example\r\nConnection: close\r\n\r\n")
            let raw = String(decoding: try await second.readUntilClose(), as: UTF8.self)
            #expect(raw.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(raw.hasSuffix("0\r\nx-checksum: 42\r\n\r\n"))
            #expect(upstream.connectionsAccepted == 1)
        }
    }

    @Test func headAnswersInterimAnswersAndNoContentCarryNoBody() async throws {
        let upstream = try await ScriptedUpstream { index in
            switch index {
            case 0: return .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            case 1: return .init(bytes: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n")
            default: return .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            }
        }
        try await Self.with(upstream) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("HEAD / HTTP/1.1\r\nHost: dead.example\r\n\r\n")
            let head = try await connection.readResponse(headRequest: true)
            #expect(head.status == 200)
            #expect(head.header("content-length") == "5")
            try await connection.send("GET /none HTTP/1.1\r\nHost: dead.example\r\n\r\n")
            #expect(try await connection.readResponse().status == 204)
            try await connection.send("GET /last HTTP/1.1\r\nHost: dead.example\r\n\r\n")
            let last = try await connection.readResponse()
            #expect(last.status == 200)
            #expect(last.bodyText == "ok")
            // The three answers came on one upstream connection: none left bytes behind.
            #expect(upstream.connectionsAccepted == 1)
            #expect(upstream.requests.first?.hasPrefix("HEAD / HTTP/1.1") == true)
        }
    }

    @Test func anUnparseableResponseIs502UPE() async throws {
        let upstream = try await ScriptedUpstream { _ in .init(bytes: "HTTP/1.1 2xx OK\r\n\r\n") }
        try await Self.with(upstream) { mesh in
            let response = try await mesh.send(host: "dead.example")
            #expect(response.status == 502)
            #expect(response.body == "upstream connect error or disconnect/reset before headers. reset reason: protocol error")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.cluster(upstream), responseCode: 502, flags: .upstreamProtocolError) == 1)
        }
    }

    @Test func aResponseCutOffMidBodyClosesTheClientsConnection() async throws {
        let upstream = try await ScriptedUpstream { _ in
            .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", thenClose: true)
        }
        try await Self.with(upstream) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: dead.example\r\n\r\n")
            let raw = String(decoding: try await connection.readUntilClose(), as: UTF8.self)
            #expect(raw.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(raw.hasSuffix("\r\n\r\npartial"))
            // Counted as a 200 the upstream cut off. Envoy's CodecClient hands the HTTP/1.1 codec
            // the close (an empty dispatch), which finds the body short (HPE_INVALID_EOF_STATE):
            // a protocol error, and the router's late reset carries its flag, UPE.
            let stats = await mesh.proxy.collectStats()
            let recorded = stats.requests.keys.filter { $0.cluster == Self.cluster(upstream) }
            #expect(recorded.count == 1)
            #expect(recorded.allSatisfy { $0.responseCode == 200 && $0.responseFlags.contains(.upstreamProtocolError) }, "\(recorded)")
        }
    }
}
