import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 server on 127.0.0.1:0 that keeps every request it gets (head and body) and
/// answers each `200` with `x-recorded-by: <name>`: an upstream whose view of the proxy's
/// requests a test can read back. Stop it with `stop()`.
final class RecordingServer: Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    private struct State {
        /// Requests received whole.
        var complete: [Request] = []
        /// Request heads received (whole requests or not).
        var heads = 0
    }

    let name: String
    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let state: NIOLockedValueBox<State>

    private init(name: String, port: Int, group: MultiThreadedEventLoopGroup, channel: Channel, state: NIOLockedValueBox<State>) {
        self.name = name
        self.port = port
        self.group = group
        self.channel = channel
        self.state = state
    }

    static func start(name: String) async throws -> RecordingServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = NIOLockedValueBox(State())
        do {
            let (channel, port) = try await LoopbackListener.bind(group: group) {
                try $0.configureHTTPServerPipeline()
                try $0.addHandler(Handler(name: name, state: state))
            }
            return RecordingServer(name: name, port: port, group: group, channel: channel, state: state)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    var requests: [Request] { state.withLockedValue { $0.complete } }
    var headsReceived: Int { state.withLockedValue { $0.heads } }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let name: String
        let state: NIOLockedValueBox<State>
        private var current: Request?

        init(name: String, state: NIOLockedValueBox<State>) {
            self.name = name
            self.state = state
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                current = Request(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: [])
                state.withLockedValue { $0.heads += 1 }
            case .body(var buffer):
                current?.body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let request = current else { return }
                current = nil
                state.withLockedValue { $0.complete.append(request) }
                let body = "from \(name)"
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: String(body.utf8.count))
                headers.add(name: "x-recorded-by", value: name)
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
