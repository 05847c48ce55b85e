import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Envoy's admin interface for meshsim: metrics (`/stats/prometheus`, `/stats`), state
/// (`/config_dump`, `/clusters`, `/ready`, `/config/revisions`) and control (`POST /config`,
/// `POST /config/rollback`), on a small HTTP/1.1 server with an event loop of its own, so that a
/// scrape or a reload never takes a proxy worker's time beyond copying its counters.
public final class AdminServer: Sendable {
    public let localAddress: SocketAddress
    public var port: Int { localAddress.port ?? 0 }

    private let channel: Channel
    private let group: MultiThreadedEventLoopGroup
    private let stopped = NIOLockedValueBox(false)

    /// Bodies above this (a `POST /config` of many megabytes) are answered 413.
    static let maxRequestBodyBytes = 16 * 1024 * 1024

    private init(localAddress: SocketAddress, channel: Channel, group: MultiThreadedEventLoopGroup) {
        self.localAddress = localAddress
        self.channel = channel
        self.group = group
    }

    /// Listens on `host:port` (port 0 picks a free one) for `controller`'s mesh.
    public static func start(controller: ConfigController, host: String = "127.0.0.1", port: Int = 15000) async throws -> AdminServer {
        let routes = AdminRoutes(controller: controller)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.configureHTTPServerPipeline(withErrorHandling: true)
                        try sync.addHandler(NIOHTTPServerRequestAggregator(maxContentLength: maxRequestBodyBytes))
                        try sync.addHandler(AdminConnectionHandler(routes: routes))
                    }
                }
                .bind(host: host, port: port)
                .get()
            guard let address = channel.localAddress else {
                try? await channel.close()
                throw ChannelError.unknownLocalAddress
            }
            return AdminServer(localAddress: address, channel: channel, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops listening and closes open admin connections. Safe to call twice.
    public func shutdown() async throws {
        let alreadyStopped = stopped.withLockedValue { value -> Bool in
            defer { value = true }
            return value
        }
        guard !alreadyStopped else { return }
        try? await channel.close()
        try await group.shutdownGracefully()
    }
}

/// One admin connection: each whole request is answered by `AdminRoutes` (off the event loop,
/// since some answers wait for the proxy's loops or a reload), then written back in order.
private final class AdminConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = NIOHTTPServerRequestFull
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: AdminRoutes

    init(routes: AdminRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let full = unwrapInboundIn(data)
        let request = AdminRequest(head: full.head, body: full.body)
        let keepAlive = full.head.isKeepAlive
        let version = full.head.version
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let routes = self.routes
        Task {
            let response = await routes.respond(to: request)
            eventLoop.execute {
                bound.value.handler.write(response, version: version, keepAlive: keepAlive, context: bound.value.context)
            }
        }
    }

    private func write(_ response: AdminResponse, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.readableBytes))
        headers.add(name: "cache-control", value: "no-cache, max-age=0")
        headers.add(name: "server", value: "meshsim-admin")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
