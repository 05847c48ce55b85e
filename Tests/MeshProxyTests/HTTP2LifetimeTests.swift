import MeshConfig
import MeshHTTP2
import MeshRouting
import MeshTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import MeshProxy

/// An HTTP/2 downstream connection's objects hold each other strongly while a stream is open
/// (HTTP2ServerConnection → its delegate → each stream → the connection; weak references cost
/// a side-table operation on every use). Closing the stream breaks the cycle; these tests check
/// that a closed connection frees its handler and delegate, with streams that completed and one
/// still open when the client went.
@Suite struct HTTP2LifetimeTests {
    @Test func aClosedDownstreamConnectionFreesItsHandlerDelegateAndStreams() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let probes = LifetimeProbes()
        var listener: (any Channel)?
        var client: (any Channel)?
        do {
            // No routes: every stream is answered 404 by the exchange itself (NR), which is
            // enough to build and finish the stream, its exchange and its answer.
            let worker = try await loop.submit {
                NIOLoopBound(
                    Worker(
                        index: 0, eventLoop: loop, configuration: ProxyConfiguration(),
                        shared: try SharedProxyState(configuration: ProxyConfiguration()),
                        snapshot: try RoutingSnapshot(resources: MeshResources())),
                    eventLoop: loop)
            }.get()
            let server = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let delegate = HTTP2DownstreamConnection(worker: worker.value, remoteIP: "127.0.0.1")
                        let connection = HTTP2ServerConnection(delegate: delegate)
                        probes.watch(connection, as: "HTTP2ServerConnection")
                        probes.watch(delegate, as: "HTTP2DownstreamConnection")
                        try channel.pipeline.syncOperations.addHandler(connection)
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
            listener = server
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP2ClientConnection())
                    }
                }
                .connect(host: "127.0.0.1", port: server.localAddress?.port ?? 0)
                .get()
            client = channel
            let head = HTTP2RequestHead(method: "GET", authority: "nowhere", path: "/")
            for _ in 0..<20 {
                let response = try await channel.eventLoop.flatSubmit {
                    do {
                        return try channel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self).sendRequest(head)
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }.get()
                #expect(response.head.status == 404)
            }
            // A stream whose request body never ends: answered, but open on the client's side
            // until the connection goes.
            let post = HTTP2RequestHead(method: "POST", authority: "nowhere", path: "/")
            let answered = try await channel.eventLoop.flatSubmit {
                do {
                    let connection = try channel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self)
                    let waiter = HeadWaiter(promise: channel.eventLoop.makePromise())
                    let stream = try connection.openStream(post, endStream: false, delegate: waiter)
                    try connection.sendBody(ByteBuffer(string: "partial"), stream: stream)
                    return waiter.promise.futureResult
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }.get()
            #expect(answered == 404)
            #expect(probes.watchedCount == 2)
            try await channel.close()
            client = nil
            let leaked = await probes.waitUntilFreed(timeout: .seconds(10))
            #expect(leaked.isEmpty, "still alive after the client closed: \(leaked)")
            let active = try await loop.submit { worker.value.stats.downstream.activeRequests }.get()
            #expect(active == 0)
        } catch {
            try? await client?.close()
            try? await listener?.close()
            try? await group.shutdownGracefully()
            throw error
        }
        try? await listener?.close()
        try await group.shutdownGracefully()
    }
}

/// Completes with the response status; the stream is left open.
private final class HeadWaiter: HTTP2ClientStreamDelegate {
    let promise: EventLoopPromise<Int>
    init(promise: EventLoopPromise<Int>) { self.promise = promise }
    func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        promise.succeed(head.status)
    }
    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
    }
    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        promise.fail(reset)
    }
}
