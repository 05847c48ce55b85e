import NIOCore
import NIOPosix

/// Test clients' connections: a TCP channel to 127.0.0.1:`port` whose pipeline is the one
/// handler `makeHandler` builds for it.
public enum LoopbackChannel {
    public static func connect(
        port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        handler makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
    }
}
