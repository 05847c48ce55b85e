import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An HTTP/1.1 upstream that answers the n-th request it receives (counted over all its
/// connections, from 0) with exactly the bytes `answer(n)` gives, then closes the connection if
/// asked: for responses no well-behaved server sends (cut off, unparseable, delimited by the
/// close) and for counting connections. Requests are taken to have no body.
final class ScriptedUpstream: Sendable {
    struct Answer: Sendable {
        var bytes: String
        var thenClose = false
    }

    let port: Int
    private let channel: Channel
    private let counts = NIOLockedValueBox((connections: 0, requests: [String]()))

    var connectionsAccepted: Int { counts.withLockedValue { $0.connections } }
    /// The request heads received, in order.
    var requests: [String] { counts.withLockedValue { $0.requests } }

    init(answer: @escaping @Sendable (Int) -> Answer) async throws {
        let counts = self.counts
        (channel, port) = try await LoopbackListener.bind(accepted: { _ in counts.withLockedValue { $0.connections += 1 } }) {
            try $0.addHandler(Responder(counts: counts, answer: answer))
        }
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let counts: NIOLockedValueBox<(connections: Int, requests: [String])>
        private let answer: @Sendable (Int) -> Answer
        private var received = ByteBuffer()

        init(counts: NIOLockedValueBox<(connections: Int, requests: [String])>, answer: @escaping @Sendable (Int) -> Answer) {
            self.counts = counts
            self.answer = answer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = Self.unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            while let text = received.getString(at: received.readerIndex, length: received.readableBytes),
                  let end = text.range(of: "\r\n\r\n") {
                let head = String(text[..<end.lowerBound])
                received.moveReaderIndex(forwardBy: text.utf8.distance(from: text.startIndex, to: end.upperBound))
                let index = counts.withLockedValue { state -> Int in
                    state.requests.append(head)
                    return state.requests.count - 1
                }
                let reply = answer(index)
                context.writeAndFlush(Self.wrapOutboundOut(context.channel.allocator.buffer(string: reply.bytes)), promise: nil)
                if reply.thenClose {
                    context.close(promise: nil)
                    return
                }
            }
        }
    }
}
