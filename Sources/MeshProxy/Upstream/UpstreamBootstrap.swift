import MeshRouting
import NIOCore
import NIOPosix

/// How every pool opens a connection to an endpoint: on its own event loop, Nagle off, with the
/// pool's connect timeout, and one handler that owns the connection's protocol.
enum UpstreamBootstrap {
    static func connect(
        to address: EndpointAddress, on eventLoop: EventLoop, timeout: TimeAmount,
        handler makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .connect(host: address.host, port: address.port)
    }
}
