import Foundation
import Testing

@testable import MeshHTTP2

/// Bad input written frame by frame: each case gets the right GOAWAY or RST_STREAM, and the
/// server goes on serving a fresh connection (and, where the connection survives, the same one).
@Suite(.serialized) struct HardeningTests {
    static let protocolError: UInt32 = 0x1, frameSizeError: UInt32 = 0x6, enhanceYourCalm: UInt32 = 0xb

    /// A new connection still gets a 200.
    static func expectServing(_ server: AnswerServer) throws {
        let fresh = try RawHTTP2Connection(port: server.port)
        fresh.handshake()
        #expect(fresh.get(stream: 1) == 200)
    }

    static func goAway(on connection: RawHTTP2Connection) -> RawFrame? {
        connection.readFrames(timeout: .seconds(20)) { $0.type == RawFrame.goAway }.match
    }

    @Test func badPrefaceOnAnHTTP2OnlyListenerGetsGoAwayProtocolError() async throws {
        try await withAnswerServer(mode: .http2Only) { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let goAway = Self.goAway(on: connection)
            #expect(goAway?.errorCode == Self.protocolError)
            _ = connection.readFrames(timeout: .seconds(20)) { _ in false }
            #expect(connection.closedByPeer)
            try Self.expectServing(server)
        }
    }

    @Test func malformedFramesEndTheConnectionWithTheRightError() async throws {
        try await withAnswerServer { server in
            // PING must be on stream 0 (RFC 9113 §6.7).
            let pingOnStream = try RawHTTP2Connection(port: server.port)
            pingOnStream.handshake()
            pingOnStream.send(
                FrameBuilder.frame(type: RawFrame.ping, stream: 1, payload: [UInt8](repeating: 0, count: 8))
            )
            #expect(Self.goAway(on: pingOnStream)?.errorCode == Self.protocolError)

            // A SETTINGS payload must be a multiple of 6 bytes.
            let shortSettings = try RawHTTP2Connection(port: server.port)
            shortSettings.handshake()
            shortSettings.send(FrameBuilder.frame(type: RawFrame.settings, payload: [0, 3, 0, 0, 0]))
            #expect(Self.goAway(on: shortSettings)?.errorCode == Self.frameSizeError)

            // HEADERS on stream 0.
            let headersOnZero = try RawHTTP2Connection(port: server.port)
            headersOnZero.handshake()
            headersOnZero.send(FrameBuilder.headers(stream: 0, block: FrameBuilder.simpleGetBlock(), endStream: true))
            #expect(Self.goAway(on: headersOnZero)?.errorCode == Self.protocolError)

            try Self.expectServing(server)
        }
    }

    /// A malformed request ends its whole connection with GOAWAY(PROTOCOL_ERROR), as Envoy's
    /// codec does with `stream_error_on_invalid_http_messaging` at its default (Istio keeps it):
    /// the stream is reset and no later stream is processed; other connections go on.
    @Test(arguments: [
        // :method GET, :scheme http, :authority, and no :path (RFC 9113 §8.3.1).
        ("no :path", [UInt8]([0x82, 0x86, 0x01]) + FrameBuilder.literal("localhost")),
        // Field names are lower-case in HTTP/2 (RFC 9113 §8.2.1).
        ("upper-case name", FrameBuilder.getBlock(path: "/", extraHeaders: [("X-Group", "beta")])),
        // Connection-specific fields are malformed in HTTP/2 (RFC 9113 §8.2.2).
        ("connection field", FrameBuilder.getBlock(path: "/", extraHeaders: [("connection", "keep-alive")])),
    ])
    func malformedRequestEndsItsConnectionWithProtocolError(_ name: String, block: [UInt8]) async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            #expect(connection.get(stream: 1) == 200)
            connection.send(FrameBuilder.headers(stream: 3, block: block, endStream: true))
            let goAway = Self.goAway(on: connection)
            #expect(goAway?.errorCode == Self.protocolError, "\(name)")
            _ = connection.readFrames(timeout: .seconds(20)) { _ in false }
            #expect(connection.closedByPeer, "\(name)")
            try Self.expectServing(server)
        }
    }

    @Test func oversizedHeaderBlockGets431AndTheConnectionKeepsServing() async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            // 40 fields of 2 KiB: ~81 KiB decoded, over the 60 KiB SETTINGS_MAX_HEADER_LIST_SIZE,
            // sent in HEADERS + CONTINUATION frames.
            let fields = (0..<40).map { ("x-filler-\($0)", String(repeating: "a", count: 2048)) }
            let block = FrameBuilder.getBlock(path: "/", extraHeaders: fields)
            connection.send(FrameBuilder.headers(stream: 1, block: block, endStream: true))
            #expect(connection.awaitStatus(stream: 1) == 431)
            #expect(connection.get(stream: 3) == 200)
            // Too many fields, each small: refused the same way.
            let many = (0..<150).map { ("x-f\($0)", "v") }
            connection.send(
                FrameBuilder.headers(
                    stream: 5,
                    block: FrameBuilder.getBlock(path: "/", extraHeaders: many),
                    endStream: true
                )
            )
            #expect(connection.awaitStatus(stream: 5) == 431)
            #expect(connection.get(stream: 7) == 200)
        }
    }

    /// RFC 9113 §5.1.2 allows REFUSED_STREAM or PROTOCOL_ERROR. nghttp2 refuses the stream while
    /// the limit is unacknowledged, and treats a client that exceeds an acknowledged limit as
    /// broken (GOAWAY PROTOCOL_ERROR).
    @Test func streamsBeyondMaxConcurrentStreamsAreRefused() async throws {
        var configuration = HTTP2Configuration()
        configuration.maxConcurrentStreams = 2
        try await withAnswerServer(configuration: configuration) { server in
            let open = { (connection: RawHTTP2Connection) in
                for stream: Int32 in [1, 3, 5] {
                    connection.send(
                        FrameBuilder.headers(
                            stream: stream,
                            block: FrameBuilder.simpleGetBlock(path: "/hold"),
                            endStream: false
                        )
                    )
                }
            }
            // Before the client acknowledges the server's SETTINGS: the third stream is refused.
            let early = try RawHTTP2Connection(port: server.port)
            early.handshake()
            open(early)
            let refused = early.readFrames { $0.type == RawFrame.rstStream || $0.type == RawFrame.goAway }.match
            #expect(refused?.type == RawFrame.rstStream)
            #expect(refused?.streamID == 5)
            #expect(refused?.errorCode == 0x7)  // REFUSED_STREAM
            #expect(early.get(stream: 7) == nil)  // Streams 1 and 3 still hold both slots...
            early.send(FrameBuilder.rstStream(1, code: 0x8))
            #expect(early.get(stream: 9) == 200)  // ...until one is cancelled.

            // After acknowledging them: a connection error.
            let late = try RawHTTP2Connection(port: server.port)
            late.handshake()
            _ = late.readFrames { $0.type == RawFrame.settings && $0.flags & 1 == 0 }
            late.send(FrameBuilder.frame(type: RawFrame.settings, flags: 1))
            _ = late.readFrames { $0.type == RawFrame.settings && $0.flags & 1 == 1 }
            open(late)
            #expect(Self.goAway(on: late)?.errorCode == Self.protocolError)
            try Self.expectServing(server)
        }
    }

    /// CVE-2023-44487: open and cancel streams as fast as possible.
    @Test func rapidResetFloodEndsWithEnhanceYourCalm() async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            var batch: [UInt8] = []
            let block = FrameBuilder.simpleGetBlock(path: "/hold")
            for index in 0..<1500 {
                let stream = Int32(2 * index + 1)
                batch += FrameBuilder.headers(stream: stream, block: block, endStream: false)
                batch += FrameBuilder.rstStream(stream, code: 0x8)
            }
            connection.send(batch)
            #expect(Self.goAway(on: connection)?.errorCode == Self.enhanceYourCalm)
            try Self.expectServing(server)
        }
    }

    @Test func settingsFloodEndsWithEnhanceYourCalm() async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            let settings = FrameBuilder.settings()
            connection.send(Array((0..<20_000).map { _ in settings }.joined()))
            #expect(Self.goAway(on: connection)?.errorCode == Self.enhanceYourCalm)
            try Self.expectServing(server)
        }
    }

    @Test func pingFloodEndsWithEnhanceYourCalm() async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            let ping = FrameBuilder.ping(42)
            connection.send(Array((0..<20_000).map { _ in ping }.joined()))
            #expect(Self.goAway(on: connection)?.errorCode == Self.enhanceYourCalm)
            try Self.expectServing(server)
        }
    }

    @Test func tooManyContinuationFramesEndTheConnection() async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            // One small field per frame: 20 CONTINUATIONs, over the limit of 8 (CVE-2024-28182).
            let block = FrameBuilder.getBlock(path: "/", extraHeaders: (0..<21).map { ("x-c\($0)", "v") })
            let fieldBytes = max(1, block.count / 22)
            connection.send(FrameBuilder.headers(stream: 1, block: block, endStream: true, maxFrame: fieldBytes))
            let goAway = Self.goAway(on: connection)
            #expect(goAway != nil)
            try Self.expectServing(server)
        }
    }
}
