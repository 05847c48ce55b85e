import MeshHTTP2
import MeshProxy
import MeshTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Testing

/// How requests are framed towards an h2c pod: a request without a body goes as one HEADERS
/// frame with END_STREAM, as a sidecar sends it, not as HEADERS and then an empty DATA frame
/// (a frame more for the pod to take, and a different request on the wire).
@Suite struct HTTP2UpstreamFramingTests {
    /// Runs `body` with a mesh whose `framing.example` is one recording h2c pod (its port given),
    /// then returns what the pod saw: for each request, whether its HEADERS ended the stream.
    static func framing(_ body: (LocalMesh, Int) async throws -> Void) async throws -> [Bool] {
        let recorder = EndStreamRecorder()
        let server = try await DelegatingH2Server.start(delegate: recorder)
        do {
            let yaml = FixtureYAML.serviceEntry("framing", host: "framing.example", port: server.port, portName: "http2", protocol: "HTTP2")
            try await TestMesh.with(yaml: yaml) { mesh in try await body(mesh, server.port) }
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
        return recorder.headersEndedStream
    }

    @Test func bodylessRequestsFromAnHTTP2ClientEndWithTheirHeaders() async throws {
        let seen = try await Self.framing { mesh, podPort in
            // The first request waits for the pod connection; the later ones find it open.
            try await Self.sendGETsThenAPOST(overHTTP2To: mesh, authority: "framing.example:\(podPort)")
        }
        #expect(seen == [true, true, true, true, false])
    }

    @Test func bodylessRequestsFromAnHTTP1ClientEndWithTheirHeaders() async throws {
        let seen = try await Self.framing { mesh, podPort in
            try await Self.sendGETsThenAPOST(overHTTP1To: mesh, host: "framing.example:\(podPort)")
        }
        #expect(seen == [true, true, true, false])
    }

    /// Four GETs, then a POST with a body (its HEADERS stay open: the recorder tells them apart),
    /// over one HTTP/2 connection; each is answered 200.
    static func sendGETsThenAPOST(overHTTP2To mesh: LocalMesh, authority: String) async throws {
        let client = try await H2TestClient.connect(port: mesh.port)
        do {
            for _ in 0..<4 {
                let response = try await client.request(HTTP2RequestHead(method: "GET", authority: authority, path: "/"))
                #expect(response.head.status == 200)
            }
            let post = try await client.request(HTTP2RequestHead(method: "POST", authority: authority, path: "/"), body: ByteBuffer(string: "x"))
            #expect(post.head.status == 200)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Three GETs, then a POST with a body, from curl over one keep-alive HTTP/1.1 connection
    /// (`--next`: options apply to the URLs after it); each is answered 200.
    static func sendGETsThenAPOST(overHTTP1To mesh: LocalMesh, host: String) async throws {
        let url = "http://127.0.0.1:\(mesh.port)/"
        let output = try await HTTP2UpstreamTests.curl([
            "-H", "Host: \(host)", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} ", url, url, url,
            "--next", "-sS", "-H", "Host: \(host)", "-d", "x", "-o", "/dev/null", "-w", "%{http_code} ", url,
        ])
        #expect(output == "200 200 200 200 ", "\(output)")
    }
}

/// The same for the shadow copies of a route's `mirror` towards an h2c pod: a shadow of a
/// bodyless request is one HEADERS frame with END_STREAM too, also when it finds the pod's
/// connection already open (the first one waits for it and always went out whole).
@Suite struct HTTP2MirrorFramingTests {
    /// Runs `body` with a mesh routing `framing.example` to one recording h2c pod and mirroring
    /// it to another (`mirror.example`), then returns what the mirror pod saw once `expected`
    /// shadows arrived: for each, whether its HEADERS ended the stream.
    static func mirrorFraming(expected: Int, _ body: (LocalMesh) async throws -> Void) async throws -> [Bool] {
        let primary = EndStreamRecorder()
        let mirror = EndStreamRecorder()
        let primaryServer = try await DelegatingH2Server.start(delegate: primary)
        let mirrorServer: DelegatingH2Server
        do {
            mirrorServer = try await DelegatingH2Server.start(delegate: mirror)
        } catch {
            try? await primaryServer.stop()
            throw error
        }
        do {
            let yaml = FixtureYAML.documents(
                FixtureYAML.serviceEntry("framing", host: "framing.example", port: primaryServer.port, portName: "http2", protocol: "HTTP2"),
                FixtureYAML.serviceEntry("mirror", host: "mirror.example", port: mirrorServer.port, portName: "http2-shadow", protocol: "HTTP2"),
                FixtureYAML.virtualService(
                    "framing", hosts: ["framing.example"],
                    http: """
                        - route: [{destination: {host: framing.example}}]
                          mirror: {host: mirror.example}
                        """))
            try await TestMesh.with(yaml: yaml) { mesh in
                try await body(mesh)
                // Shadows are fire and forget: wait for them to reach the pod.
                #expect(await TestMesh.waitUntil { mirror.headersEndedStream.count == expected })
            }
        } catch {
            try? await primaryServer.stop()
            try? await mirrorServer.stop()
            throw error
        }
        try await primaryServer.stop()
        try await mirrorServer.stop()
        #expect(primary.headersEndedStream.count == expected)
        return mirror.headersEndedStream
    }

    @Test func shadowsOfBodylessRequestsFromAnHTTP2ClientEndWithTheirHeaders() async throws {
        let seen = try await Self.mirrorFraming(expected: 5) { mesh in
            try await HTTP2UpstreamFramingTests.sendGETsThenAPOST(overHTTP2To: mesh, authority: "framing.example")
        }
        #expect(seen == [true, true, true, true, false])
    }

    @Test func shadowsOfBodylessRequestsFromAnHTTP1ClientEndWithTheirHeaders() async throws {
        let seen = try await Self.mirrorFraming(expected: 4) { mesh in
            try await HTTP2UpstreamFramingTests.sendGETsThenAPOST(overHTTP1To: mesh, host: "framing.example")
        }
        #expect(seen == [true, true, true, false])
    }
}

/// The head a pod gets for a bodyless request from an HTTP/2 client is written straight into the
/// stream's header block (`Exchange.writeHTTP2Request`); one with a body still goes through the
/// forwarded fields (`UpstreamRequestHead`). Both must give the pod the same head.
@Suite struct HTTP2UpstreamHeadTests {
    @Test func bodylessHeadWrittenIntoTheBlockEqualsTheForwardedOne() async throws {
        let recorder = HeadRecorder()
        let server = try await DelegatingH2Server.start(delegate: recorder)
        let port = server.port
        do {
            let yaml = FixtureYAML.serviceEntry("heads", host: "heads.example", port: port, portName: "http2", protocol: "HTTP2")
            try await TestMesh.with(yaml: yaml) { mesh in
                let client = try await H2TestClient.connect(port: mesh.port)
                do {
                    let headers: HTTPHeaders = ["x-custom": "A", "te": "trailers", "x-request-id": "fixed", "user-agent": "probe"]
                    let get = try await client.request(
                        HTTP2RequestHead(method: "GET", authority: "heads.example:\(port)", path: "/a/../b?q=1", headers: headers))
                    #expect(get.head.status == 200)
                    let post = try await client.request(
                        HTTP2RequestHead(method: "GET", authority: "heads.example:\(port)", path: "/a/../b?q=1", headers: headers),
                        body: ByteBuffer(string: "x"))
                    #expect(post.head.status == 200)
                } catch {
                    await client.shutdown()
                    throw error
                }
                await client.shutdown()
            }
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
        let heads = recorder.heads
        try #require(heads.count == 2)
        let (bodyless, withBody) = (heads[0], heads[1])
        #expect(bodyless.endStream && !withBody.endStream)
        #expect(bodyless.head.authority == "heads.example:\(port)")
        #expect(bodyless.head.path == "/b?q=1")
        #expect(bodyless.head.method == "GET")
        #expect(bodyless.head.headers.first(name: "x-custom") == "A")
        #expect(bodyless.head.headers.first(name: "te") == "trailers")
        #expect(bodyless.head.headers.first(name: "x-request-id") == "fixed")
        #expect(bodyless.head.headers.first(name: "x-forwarded-proto") == "http")
        #expect(bodyless.head.headers.first(name: "x-envoy-attempt-count") == "1")
        #expect(!bodyless.head.headers.contains(name: "host"))
        // The request with a body adds only its own framing (nghttp2 carries no content-length for it).
        #expect(bodyless.head == withBody.head, "\(bodyless.head) vs \(withBody.head)")
    }
}

/// A pod's HTTP/2 side that records every request head (and whether its HEADERS ended the
/// stream) and answers 200 once the request has ended.
final class HeadRecorder: HTTP2ServerDelegate, Sendable {
    private let recorded = NIOLockedValueBox<[(head: HTTP2RequestHead, endStream: Bool)]>([])
    var heads: [(head: HTTP2RequestHead, endStream: Bool)] { recorded.withLockedValue { $0 } }

    func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        recorded.withLockedValue { $0.append((head, endStream)) }
        if endStream { try? connection.sendResponseHead(HTTP2ResponseHead(status: 200), stream: stream, endStream: true) }
    }
    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
    }
    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        try? connection.sendResponseHead(HTTP2ResponseHead(status: 200), stream: stream, endStream: true)
    }
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
}

/// A pod's HTTP/2 side that answers 200 once a request has ended, and records for each request
/// head whether its HEADERS frame carried END_STREAM.
final class EndStreamRecorder: HTTP2ServerDelegate, Sendable {
    private let endStreams = NIOLockedValueBox<[Bool]>([])
    var headersEndedStream: [Bool] { endStreams.withLockedValue { $0 } }

    func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        endStreams.withLockedValue { $0.append(endStream) }
        if endStream { answer(stream, connection) }
    }
    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
    }
    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        answer(stream, connection)
    }
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}

    private func answer(_ stream: HTTP2StreamID, _ connection: HTTP2ServerConnection) {
        try? connection.sendResponseHead(HTTP2ResponseHead(status: 200), stream: stream, endStream: true)
    }
}
