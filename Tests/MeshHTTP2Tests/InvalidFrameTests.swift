import Foundation
import Testing

@testable import MeshHTTP2

/// Invalid frames that nghttp2 alone would treat as stream errors, each answered as Envoy's codec
/// answers it (`ConnectionImpl::onInvalidFrame` in source/common/http/http2/codec_impl.cc ends
/// the connection for every nghttp2 refusal but REFUSED_STREAM), and the ones nghttp2 resets
/// without telling the application (content-length), which Envoy leaves as stream resets too.
/// Each case ends with a fresh connection (or the same one, where it survives) still served.
@Suite(.serialized) struct InvalidFrameTests {
    static let protocolError: UInt32 = 0x1, flowControlError: UInt32 = 0x3, streamClosed: UInt32 = 0x5

    /// A POST of `path` with a `content-length` when given (literals only: no HPACK state).
    static func postBlock(path: String = "/hold", contentLength: Int? = nil) -> [UInt8] {
        var block: [UInt8] = [0x83, 0x86]  // :method POST, :scheme http
        block += [0x04] + FrameBuilder.literal(path)
        block += [0x01] + FrameBuilder.literal("localhost")
        if let contentLength { block += [0x00] + FrameBuilder.literal("content-length") + FrameBuilder.literal(String(contentLength)) }
        return block
    }

    static func data(stream: Int32, _ text: String, endStream: Bool) -> [UInt8] {
        FrameBuilder.frame(type: RawFrame.data, flags: endStream ? 0x1 : 0, stream: stream, payload: Array(text.utf8))
    }

    /// The GOAWAY the server sends, after which it closes the connection.
    static func expectGoAway(_ code: UInt32, on connection: RawHTTP2Connection, _ comment: Comment) {
        let goAway = connection.readFrames(timeout: .seconds(20)) { $0.type == RawFrame.goAway }.match
        #expect(goAway?.errorCode == code, comment)
        _ = connection.readFrames(timeout: .seconds(20)) { _ in false }
        #expect(connection.closedByPeer, comment)
    }

    /// A WINDOW_UPDATE that takes a stream's send window past 2^31-1: nghttp2 resets the stream
    /// (FLOW_CONTROL_ERROR); Envoy fails the dispatch on `NGHTTP2_ERR_FLOW_CONTROL`, so the whole
    /// connection ends.
    @Test func aStreamWindowOverflowEndsTheConnection() async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            #expect(connection.get(stream: 1) == 200)
            connection.send(FrameBuilder.headers(stream: 3, block: Self.postBlock(), endStream: false))
            let increment = withUnsafeBytes(of: UInt32(0x7fff_ffff).bigEndian, Array.init)
            connection.send(FrameBuilder.frame(type: RawFrame.windowUpdate, stream: 3, payload: increment))
            Self.expectGoAway(Self.flowControlError, on: connection, "stream window overflow")
            try HardeningTests.expectServing(server)
        }
    }

    /// Trailers must end the stream (RFC 9113 §8.1): a messaging error, the connection ends.
    @Test func trailersWithoutEndStreamEndTheConnection() async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            connection.send(
                FrameBuilder.headers(stream: 1, block: Self.postBlock(), endStream: false) + Self.data(stream: 1, "x", endStream: false)
                    + FrameBuilder.headers(stream: 1, block: [0x00] + FrameBuilder.literal("x-trailer") + FrameBuilder.literal("1"), endStream: false))
            Self.expectGoAway(Self.protocolError, on: connection, "trailers without END_STREAM")
            try HardeningTests.expectServing(server)
        }
    }

    /// DATA after END_STREAM (the stream is half-closed (remote)): nghttp2 ends the connection
    /// with GOAWAY(STREAM_CLOSED) by itself, and Envoy with it (it fails on any GOAWAY it sends
    /// with an error code, `ConnectionImpl::onFrameSend`).
    @Test func dataAfterEndStreamEndsTheConnection() async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            // One write: both frames are read before the answer could close the stream.
            connection.send(
                FrameBuilder.headers(stream: 1, block: FrameBuilder.simpleGetBlock(path: "/hold"), endStream: true)
                    + Self.data(stream: 1, "late", endStream: false))
            Self.expectGoAway(Self.streamClosed, on: connection, "DATA after END_STREAM")
            try HardeningTests.expectServing(server)
        }
    }

    /// A body shorter or longer than its `content-length` is malformed (RFC 9113 §8.1.1): the
    /// stream is reset with PROTOCOL_ERROR and the request never ends for the application (the
    /// `/hold` route answers only an ended request). nghttp2 resets it without the invalid-frame
    /// callback, Envoy's codec sees a stream reset only, and the connection carries on.
    @Test(arguments: [("shorter", 10, "hello"), ("longer", 3, "hello")])
    func aBodyThatMissesItsContentLengthResetsItsStreamOnly(_ name: String, declared: Int, body: String) async throws {
        try await withAnswerServer { server in
            let connection = try RawHTTP2Connection(port: server.port)
            connection.handshake()
            connection.send(
                FrameBuilder.headers(stream: 1, block: Self.postBlock(contentLength: declared), endStream: false)
                    + Self.data(stream: 1, body, endStream: true))
            let frames = connection.readFrames { $0.type == RawFrame.rstStream || $0.type == RawFrame.goAway }
            #expect(frames.match?.type == RawFrame.rstStream, "\(name)")
            #expect(frames.match?.streamID == 1 && frames.match?.errorCode == Self.protocolError, "\(name)")
            #expect(!frames.frames.contains { $0.type == RawFrame.headers && $0.streamID == 1 }, "\(name): no answer")
            #expect(connection.get(stream: 3) == 200, "\(name)")
            #expect(server.observations.resets.count == 1, "\(name)")
        }
    }
}
