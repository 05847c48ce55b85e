import MeshProxy
import Testing

/// Malformed, oversized, ambiguous and slow input: each is refused the way it should be, the
/// connection closes, and the proxy goes on serving everyone else.
@Suite struct BadInputTests {
    static var limits: ProxyConfiguration.Limits {
        var limits = ProxyConfiguration.Limits()
        limits.maxRequestHeaderBytes = 8 * 1024
        limits.requestHeaderTimeout = .milliseconds(300)
        limits.maxConnections = 3
        return limits
    }

    static func withMesh(_ body: (LocalMesh) async throws -> Void) async throws {
        try await TestMesh.with(
            files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")],
            configuration: TestMesh.configuration(limits: limits)
        ) { mesh in
            try await body(mesh)
            // Whatever happened, the proxy still answers.
            let after = try await mesh.send(host: "reviews")
            #expect(after.status == 200)
        }
    }

    /// Sends `bytes`, expects `status` with `connection: close`, then the close.
    static func expectRefusal(_ bytes: String, status: Int, port: Int) async throws {
        let connection = try RawConnection(port: port)
        try await connection.send(bytes)
        let response = try await connection.readResponse()
        #expect(response.status == status, "for \(bytes.debugDescription)")
        #expect(response.header("connection") == "close")
        #expect(await connection.waitForClose())
    }

    @Test(arguments: [
        "GARBAGE\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: reviews\r\n\r\n",
        "GET / HTTP/1.1\r\nHost reviews\r\n\r\n",
        "GET / HTTP/1.1\r\nHo st: reviews\r\n\r\n",
    ])
    func malformedRequestIs400(request: String) async throws {
        try await Self.withMesh { mesh in try await Self.expectRefusal(request, status: 400, port: mesh.port) }
    }

    @Test func headersOverTheLimitAre431() async throws {
        try await Self.withMesh { mesh in
            let big = String(repeating: "a", count: 16 * 1024)
            try await Self.expectRefusal("GET / HTTP/1.1\r\nHost: reviews\r\nX-Big: \(big)\r\n\r\n", status: 431, port: mesh.port)
            let many = (0..<200).map { "X-H\($0): v\r\n" }.joined()
            try await Self.expectRefusal("GET / HTTP/1.1\r\nHost: reviews\r\n\(many)\r\n", status: 431, port: mesh.port)
            let stats = await mesh.proxy.collectStats()
            #expect(stats.downstream.protocolErrors == 2)
        }
    }

    @Test func contentLengthWithTransferEncodingIsRefused() async throws {
        try await Self.withMesh { mesh in
            try await Self.expectRefusal(
                "POST /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: reviews\r\n\r\n",
                status: 400, port: mesh.port)
            // Nothing reached a pod.
            #expect(mesh.fleet.stats.values.reduce(0) { $0 + $1.requestsServed } == 0)
        }
    }

    /// Envoy takes `chunked` alone as a request's transfer coding and answers anything else with
    /// 501 Not Implemented, its reason phrase as the body; nothing is forwarded.
    @Test(arguments: ["gzip", "gzip, chunked", "identity, chunked", "chunked, chunked"])
    func transferCodingsOtherThanChunkedAre501(codings: String) async throws {
        try await Self.withMesh { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("POST /echo HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: \(codings)\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 501)
            #expect(response.bodyText == "Not Implemented")
            #expect(response.header("connection") == "close")
            #expect(await connection.waitForClose())
            #expect(mesh.fleet.stats.values.reduce(0) { $0 + $1.requestsServed } == 0)
        }
    }

    @Test func differingContentLengthsAreRefused() async throws {
        try await Self.withMesh { mesh in
            try await Self.expectRefusal("POST /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", status: 400, port: mesh.port)
            #expect(mesh.fleet.stats.values.reduce(0) { $0 + $1.requestsServed } == 0)
        }
    }

    /// The head was fine, so the request is already on its way to a pod when the chunked body
    /// turns out malformed: Envoy answers 400 with DPE and closes rather than leaving the client
    /// (and the pod, waiting for the rest of the body) hanging.
    @Test(arguments: [
        "zz\r\n",
        "3\r\nabc\r\nnot-a-size\r\n",
        "3\r\nabcXX",
    ])
    func malformedChunkedBodyAfterTheHeadIs400(body: String) async throws {
        try await Self.withMesh { mesh in
            try await Self.expectRefusal(
                "POST /echo HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n\(body)", status: 400, port: mesh.port)
            let stats = await mesh.proxy.collectStats()
            #expect(stats.downstream.protocolErrors == 1)
        }
    }

    /// A fragment is never part of a request target (RFC 3986 §3.5); Envoy refuses one with
    /// 400 rather than route on it, in the origin and the absolute form alike.
    @Test func aFragmentInTheTargetIsRefused() async throws {
        try await Self.withMesh { mesh in
            try await Self.expectRefusal("GET /ratings#top HTTP/1.1\r\nHost: reviews\r\n\r\n", status: 400, port: mesh.port)
            try await Self.expectRefusal("GET http://reviews/a?b=c#d HTTP/1.1\r\n\r\n", status: 400, port: mesh.port)
            #expect(mesh.fleet.stats.values.reduce(0) { $0 + $1.requestsServed } == 0)
        }
    }

    @Test func obsoleteLineFoldingIsRefused() async throws {
        try await Self.withMesh { mesh in
            try await Self.expectRefusal("GET / HTTP/1.1\r\nHost: reviews\r\nX-Folded: one\r\n two\r\n\r\n", status: 400, port: mesh.port)
        }
    }

    /// RFC 9112 §3.2: no Host, an empty one, an invalid one, or more than one Host line (even
    /// agreeing ones, in any spelling, whatever the target's form) is a 400; nginx and HAProxy
    /// refuse them too, and Envoy an authority with characters RFC 3986 does not allow.
    @Test func missingEmptyInvalidOrRepeatedHostIsRefused() async throws {
        try await Self.withMesh { mesh in
            try await Self.expectRefusal("GET / HTTP/1.1\r\n\r\n", status: 400, port: mesh.port)
            try await Self.expectRefusal("GET / HTTP/1.1\r\nHost:\r\n\r\n", status: 400, port: mesh.port)
            try await Self.expectRefusal("GET / HTTP/1.1\r\nHost: reviews\r\nHost: other\r\n\r\n", status: 400, port: mesh.port)
            try await Self.expectRefusal("GET / HTTP/1.1\r\nHost: reviews\r\nhost: reviews\r\n\r\n", status: 400, port: mesh.port)
            try await Self.expectRefusal(
                "GET http://reviews/ HTTP/1.1\r\nHost: reviews\r\nHOST: reviews\r\n\r\n", status: 400, port: mesh.port)
            // A Host no authority could be (Envoy: http.invalid_authority), in either place.
            try await Self.expectRefusal("GET / HTTP/1.1\r\nHost: re views\r\n\r\n", status: 400, port: mesh.port)
            try await Self.expectRefusal("GET http://rev{iews}/ HTTP/1.1\r\nHost: reviews\r\n\r\n", status: 400, port: mesh.port)
            // One Host is served, in any spelling of the name.
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nhOsT: reviews\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)
            #expect(await mesh.proxy.collectStats().downstream.protocolErrors == 7)
        }
    }

    @Test func slowHeadersAreClosedAfterTheHeaderTimeoutWithoutBlockingOthers() async throws {
        try await Self.withMesh { mesh in
            let slow = try RawConnection(port: mesh.port)
            try await slow.send("GET / HTTP/1.1\r\nHost: rev")
            // Meanwhile another client is served on the same event loop.
            let other = try RawConnection(port: mesh.port)
            try await other.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
            #expect(try await other.readResponse().status == 200)
            let response = try await slow.readResponse()
            #expect(response.status == 408)
            #expect(await slow.waitForClose())
            #expect(await mesh.proxy.collectStats().downstream.headerTimeouts == 1)
        }
    }

    @Test func connectionsBeyondTheListenerCapAreClosed() async throws {
        try await Self.withMesh { mesh in
            var held: [RawConnection] = []
            for _ in 0..<3 {
                let connection = try RawConnection(port: mesh.port)
                try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
                #expect(try await connection.readResponse().status == 200)
                held.append(connection)
            }
            let extra = try RawConnection(port: mesh.port)
            #expect(await extra.waitForClose())
            #expect(await mesh.proxy.collectStats().downstream.connectionsOverflowed == 1)
            held.removeAll()
            // Room again once the held connections are gone (the check after this body sends one more).
            #expect(await TestMesh.waitUntil { await mesh.proxy.collectStats().downstream.activeConnections == 0 })
        }
    }
}
