import MeshHTTP2
import MeshTestSupport
import NIOCore
import NIOPosix
import Testing

/// `HTTP2ClientConnection.delegate` is a strong reference (a weak one cost a side-table load
/// per stream), and a pool keeps its connections: the connection lets go of its delegate when
/// it closes, so the cycle does not outlive the connection.
@Suite struct LifetimeTests {
    /// A pool-shaped delegate: it holds the connection that holds it.
    final class HoldingDelegate: HTTP2ClientConnectionDelegate {
        var connection: HTTP2ClientConnection?
    }

    @Test func aClosedConnectionAndItsHoldingDelegateAreFreed() async throws {
        try await withAnswerServer(mode: .http2Only) { server in
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let probes = LifetimeProbes()
            do {
                let channel = try await ClientBootstrap(group: group)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let connection = HTTP2ClientConnection()
                            let delegate = HoldingDelegate()
                            delegate.connection = connection
                            connection.delegate = delegate
                            probes.watch(connection, as: "HTTP2ClientConnection")
                            probes.watch(delegate, as: "delegate")
                            try channel.pipeline.syncOperations.addHandler(connection)
                        }
                    }
                    .connect(host: "127.0.0.1", port: server.port)
                    .get()
                let response = try await channel.eventLoop.flatSubmit {
                    do {
                        let connection = try channel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self)
                        return try connection.sendRequest(HTTP2RequestHead(method: "GET", authority: "localhost", path: "/"))
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }.get()
                #expect(response.head.status == 200)
                #expect(probes.watchedCount == 2)
                try await channel.close()
                let leaked = await probes.waitUntilFreed(timeout: .seconds(10))
                #expect(leaked.isEmpty, "still alive after close: \(leaked)")
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
            try await group.shutdownGracefully()
        }
    }
}
