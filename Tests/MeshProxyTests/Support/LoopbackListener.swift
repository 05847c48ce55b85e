import NIOCore
import NIOPosix

/// The listener every scripted upstream of these tests opens: 127.0.0.1, a port the kernel
/// picks, `accepted` told of each connection before `configure` sets up its pipeline.
enum LoopbackListener {
    static func bind(
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        accepted: @escaping @Sendable (any Channel) -> Void = { _ in },
        configure: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) async throws -> (channel: any Channel, port: Int) {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted(channel)
                return channel.eventLoop.makeCompletedFuture { try configure(channel.pipeline.syncOperations) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw RawConnection.Failure(description: "a loopback listener without a port")
        }
        return (channel, port)
    }
}
