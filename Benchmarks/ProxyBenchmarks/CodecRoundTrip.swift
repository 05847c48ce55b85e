import MeshHTTP2
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// MeshHTTP2's client and server connections joined back to back through two EmbeddedChannels,
/// no sockets: each request is encoded by the client (HEADERS), decoded by the server, answered
/// (HEADERS + DATA), and decoded by the client again. What is left is the codec's own work per
/// stream: nghttp2 framing and HPACK both ways plus the Swift layer around it.
final class CodecRoundTrip {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Answers every request with 200 and a fixed body, like a simulated pod.
    private final class Answerer: HTTP2ServerDelegate {
        private let head = HTTP2ResponseHead(status: 200, headers: ["content-type": "text/plain", "content-length": "6"])
        private let body = ByteBuffer(string: "hello\n")
        var failure: (any Error)?

        func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
            guard endStream else { return }
            do {
                try connection.sendResponse(self.head, body: body, stream: stream)
            } catch {
                failure = error
            }
        }

        func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
            connection.consume(chunk.readableBytes, stream: stream)
        }

        func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}

        func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
            failure = reset
        }
    }

    /// Notes how the one stream in flight ended.
    private final class Receiver: HTTP2ClientStreamDelegate {
        var status = 0
        var ended = false
        var reset: HTTP2StreamReset?

        func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
            status = head.status
            if endStream { ended = true }
        }

        func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
            connection.consume(chunk.readableBytes, stream: stream)
        }

        func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
            ended = true
        }

        func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
            self.reset = reset
        }
    }

    /// The most byte exchanges one request may take (HEADERS out, HEADERS + DATA back, and the
    /// window updates and SETTINGS acks around them take a few).
    private static let maxExchangesPerRequest = 16

    private let clientChannel = EmbeddedChannel()
    private let serverChannel = EmbeddedChannel()
    private let client = HTTP2ClientConnection()
    private let answerer = Answerer()
    private let receiver = Receiver()
    private let head: HTTP2RequestHead

    /// Connects the two ends and exchanges the prefaces and SETTINGS.
    init(head: HTTP2RequestHead) throws {
        self.head = head
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
        try serverChannel.pipeline.syncOperations.addHandler(HTTP2ServerConnection(delegate: answerer))
        try clientChannel.pipeline.syncOperations.addHandler(client)
        serverChannel.connect(to: address, promise: nil)
        clientChannel.connect(to: address, promise: nil)
        _ = try exchange()
    }

    /// Sends `count` requests one after the other, each answered before the next is opened.
    func run(requests count: Int) throws {
        for _ in 0..<count {
            receiver.status = 0
            receiver.ended = false
            try client.openStream(head, endStream: true, delegate: receiver)
            var exchanges = 0
            while !receiver.ended {
                if let reset = receiver.reset ?? answerer.failure { throw reset }
                exchanges += 1
                guard exchanges <= Self.maxExchangesPerRequest, try exchange() else {
                    throw Failure(description: "the response did not arrive within \(Self.maxExchangesPerRequest) exchanges")
                }
            }
            guard receiver.status == 200 else { throw Failure(description: "answered \(receiver.status), expected 200") }
        }
    }

    func close() throws {
        _ = try clientChannel.finish()
        _ = try serverChannel.finish()
    }

    /// Runs both loops' pending work (scheduled flushes), then moves every written buffer to the
    /// other side. Returns whether any byte moved.
    private func exchange() throws -> Bool {
        clientChannel.embeddedEventLoop.run()
        serverChannel.embeddedEventLoop.run()
        var moved = false
        while let bytes = try clientChannel.readOutbound(as: ByteBuffer.self) {
            try serverChannel.writeInbound(bytes)
            moved = true
        }
        serverChannel.embeddedEventLoop.run()
        while let bytes = try serverChannel.readOutbound(as: ByteBuffer.self) {
            try clientChannel.writeInbound(bytes)
            moved = true
        }
        return moved
    }
}
