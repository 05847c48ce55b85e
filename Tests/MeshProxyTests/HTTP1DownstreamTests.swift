import MeshProxy
import Testing

/// The downstream connection decodes HTTP/1.1 itself: requests arriving in arbitrary pieces,
/// pipelined behind each other, are served in order; bytes that cannot be HTTP are refused at
/// once; a non-h2c Upgrade is served as a plain request and the connection carries on.
@Suite struct HTTP1DownstreamTests {
    static func withMesh(_ body: (LocalMesh) async throws -> Void) async throws {
        var limits = ProxyConfiguration.Limits()
        // Long enough that an answer which waited for it would miss the client's read timeout.
        limits.requestHeaderTimeout = .seconds(120)
        try await TestMesh.with(
            files: [TestConfigs.path("reviews"), TestConfigs.path("header-routing")],
            configuration: TestMesh.configuration(limits: limits), body)
    }

    @Test func pipelinedRequestsArrivingAFewBytesAtATimeAreAnsweredInOrder() async throws {
        try await Self.withMesh { mesh in
            let requests = "GET /1 HTTP/1.1\r\nHost: reviews\r\nx-user-group: beta\r\n\r\n"
                + "POST /echo HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n"
                + "GET /3 HTTP/1.1\r\nHost: nowhere\r\n\r\n"
                + "POST /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: 3\r\n\r\nabc"
            let bytes = Array(requests.utf8)
            let connection = try RawConnection(port: mesh.port)
            for start in stride(from: 0, to: bytes.count, by: 7) {
                try await connection.send(Array(bytes[start..<min(start + 7, bytes.count)]))
            }
            let first = try await connection.readResponse()
            let second = try await connection.readResponse()
            let third = try await connection.readResponse()
            let fourth = try await connection.readResponse()
            #expect(first.status == 200)
            #expect(first.header("x-meshsim-route") == "default/reviews/beta-users")
            #expect(second.status == 200)
            #expect(second.bodyText.contains("\"bodyBytes\":9"))
            #expect(third.status == 404)
            #expect(fourth.status == 200)
            #expect(fourth.bodyText.contains("\"bodyBytes\":3"))
        }
    }

    @Test func aTLSHelloIsRefusedWithoutWaitingForALineEnd() async throws {
        try await Self.withMesh { mesh in
            let connection = try RawConnection(port: mesh.port)
            // The start of a TLS ClientHello: never a line end, never HTTP.
            try await connection.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
            let response = try await connection.readResponse()
            #expect(response.status == 400)
            #expect(response.header("connection") == "close")
            #expect(await connection.waitForClose())
            #expect(await mesh.proxy.collectStats().downstream.protocolErrors == 1)
        }
    }
}
