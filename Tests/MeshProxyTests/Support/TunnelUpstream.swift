import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An HTTP/1.1 upstream for upgrade tests: it reads one request head per connection, records it,
/// answers with `answer` (a 101 by default), and after a 101 echoes every byte it receives,
/// unchanged, until either side closes. It counts the connections it saw close, so a test can
/// tell that the proxy tore a tunnel down.
final class TunnelUpstream: Sendable {
    static let switching = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n"

    let port: Int
    private let channel: Channel
    private let state = NIOLockedValueBox((heads: [String](), closed: 0, channels: [Channel]()))

    /// The request heads received, in order.
    var heads: [String] { state.withLockedValue { $0.heads } }
    /// Connections that have closed.
    var closedConnections: Int { state.withLockedValue { $0.closed } }

    init(answer: String = TunnelUpstream.switching) async throws {
        let state = self.state
        (channel, port) = try await LoopbackListener.bind(accepted: { channel in state.withLockedValue { $0.channels.append(channel) } }) {
            try $0.addHandler(Responder(state: state, answer: answer))
        }
    }

    /// Closes every accepted connection (the upstream ends the tunnel).
    func closeConnections() {
        for channel in state.withLockedValue({ $0.channels }) { channel.close(promise: nil) }
    }

    func stop() async {
        closeConnections()
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let state: NIOLockedValueBox<(heads: [String], closed: Int, channels: [Channel])>
        private let answer: String
        private var received = ByteBuffer()
        private var tunneling = false

        init(state: NIOLockedValueBox<(heads: [String], closed: Int, channels: [Channel])>, answer: String) {
            self.state = state
            self.answer = answer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = Self.unwrapInboundIn(data)
            if tunneling {
                context.writeAndFlush(Self.wrapOutboundOut(bytes), promise: nil)
                return
            }
            received.writeBuffer(&bytes)
            guard let text = received.getString(at: received.readerIndex, length: received.readableBytes),
                  let end = text.range(of: "\r\n\r\n")
            else { return }
            let head = String(text[..<end.lowerBound])
            received.moveReaderIndex(forwardBy: text.utf8.distance(from: text.startIndex, to: end.upperBound))
            state.withLockedValue { $0.heads.append(head) }
            context.write(Self.wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
            if answer.hasPrefix("HTTP/1.1 101") {
                tunneling = true
                // Bytes that came with the head are the tunnel's already.
                if received.readableBytes > 0 { context.write(Self.wrapOutboundOut(received), promise: nil) }
                received = ByteBuffer()
            }
            context.flush()
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.closed += 1 }
            context.fireChannelInactive()
        }
    }
}
