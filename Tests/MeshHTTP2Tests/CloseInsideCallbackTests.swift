import MeshHTTP2
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The session lends its streams to nghttp2's callbacks and the connection handlers lend the
/// session and stream to their own calls, without retaining them: an application that closes the
/// connection from inside one of its events (which frees what the connection held) must still
/// see the connection end cleanly, with its streams reported reset and later calls refused.
@Suite struct CloseInsideCallbackTests {
    /// What the server's delegate saw, in order.
    final class Seen: Sendable {
        private let events = Mutex<[String]>([])
        func append(_ event: String) { self.events.withLock { $0.append(event) } }
        var all: [String] { self.events.withLock { $0 } }
    }

    /// Closes the channel from inside the event each path names, and records what it saw.
    final class ClosingDelegate: HTTP2ServerDelegate {
        let channel: any Channel
        let seen: Seen

        init(channel: any Channel, seen: Seen) {
            self.channel = channel
            self.seen = seen
        }

        func record(_ event: String) { self.seen.append(event) }

        func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
            self.record("head \(head.path)")
            switch head.path {
            case "/close-in-head":
                // Inside nghttp2's input callback: the session is still feeding the read.
                self.channel.close(promise: nil)
            case "/close-when-full":
                // Outside any callback (a later event-loop turn): the body crosses the high
                // watermark, and the writability event closes the connection inside sendBody.
                guard let eventLoop = connection.eventLoop else { return }
                let bound = NIOLoopBound((self, connection), eventLoop: eventLoop)
                eventLoop.execute {
                    let (delegate, connection) = bound.value
                    do {
                        try connection.sendResponseHead(HTTP2ResponseHead(status: 200), stream: stream)
                        let size = connection.configuration.streamOutboundHighWatermark + 1
                        try connection.sendBody(ByteBuffer(repeating: 0x61, count: size), stream: stream)
                        delegate.record("sendBody returned")
                    } catch {
                        delegate.record("sendBody threw")
                    }
                    do {
                        try connection.sendEnd(stream: stream)
                        delegate.record("sendEnd accepted")
                    } catch {
                        delegate.record("sendEnd refused")
                    }
                }
            default:
                try? connection.sendResponse(HTTP2ResponseHead(status: 204), stream: stream)
            }
        }

        func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
        func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}

        func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
            self.record("reset \(stream.value) \(reset.origin)")
        }

        func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
            self.record("writable \(isWritable)")
            if !isWritable { self.channel.close(promise: nil) }
        }
    }

    /// A server whose connections close from inside `ClosingDelegate`'s events.
    static func withClosingServer(_ body: (Int, Seen) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let seen = Seen()
        do {
            let server = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let delegate = ClosingDelegate(channel: channel, seen: seen)
                        try channel.pipeline.syncOperations.addHandler(HTTP2ServerConnection(delegate: delegate))
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
            do {
                guard let port = server.localAddress?.port else { throw TestFailure("server has no port") }
                try await body(port, seen)
            } catch {
                try? await server.close()
                throw error
            }
            try await server.close()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    static func waitFor(_ seen: Seen, timeout: Duration = .seconds(10), _ condition: ([String]) -> Bool) async -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !condition(seen.all) {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return seen.all
    }

    @Test func closingInsideARequestEventResetsTheOpenStreams() async throws {
        try await Self.withClosingServer { port, seen in
            try await withClient(port: port) { client in
                // Both requests go out in one write, so the server reads them in one pass.
                let ids = try await client.onLoop { connection in
                    let delegate = RecordingStreamDelegate(events: client.events)
                    return [
                        try connection.openStream(HTTP2RequestHead(method: "GET", authority: "a", path: "/ok"), endStream: true, delegate: delegate),
                        try connection.openStream(HTTP2RequestHead(method: "GET", authority: "a", path: "/close-in-head"), endStream: true, delegate: delegate),
                    ]
                }
                #expect(await client.events.wait { $0.contains(.closed) })
                let events = await Self.waitFor(seen) { $0.contains("reset \(ids[1].value) connectionClosed") }
                #expect(events.contains("head /close-in-head"))
                #expect(events.contains("reset \(ids[1].value) connectionClosed"))
            }
        }
    }

    @Test func closingInsideAWritabilityEventOfSendBodyRefusesLaterCalls() async throws {
        try await Self.withClosingServer { port, seen in
            try await withClient(port: port) { client in
                _ = try await client.openRecordedStream(
                    HTTP2RequestHead(method: "GET", authority: "a", path: "/close-when-full"), endStream: true, consume: false)
                #expect(await client.events.wait { $0.contains(.closed) })
                let events = await Self.waitFor(seen) { $0.contains("sendEnd refused") || $0.contains("sendEnd accepted") }
                #expect(events.contains("writable false"))
                #expect(events.contains("sendBody returned"))
                #expect(events.contains("sendEnd refused"))
            }
        }
    }
}
