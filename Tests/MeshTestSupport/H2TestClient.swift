import Foundation
import MeshHTTP2
import NIOCore
import NIOHTTP1
import NIOPosix

/// An in-process HTTP/2 client (MeshHTTP2's, h2c with prior knowledge) on an event loop of its
/// own, for what curl cannot do: several streams on one connection, a reset at a chosen moment.
/// Always `shutdown()` it.
public final class H2TestClient: Sendable {
    public let connection: NIOLoopBound<HTTP2ClientConnection>
    private let group: MultiThreadedEventLoopGroup

    private init(group: MultiThreadedEventLoopGroup, connection: NIOLoopBound<HTTP2ClientConnection>) {
        self.group = group
        self.connection = connection
    }

    public static func connect(port: Int, configuration: HTTP2Configuration = .default) async throws -> H2TestClient {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let connection = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port, group: group, configuration: configuration).get()
            return H2TestClient(group: group, connection: connection)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Runs `body` with the connection on its event loop.
    public func onLoop<Result: Sendable>(_ body: @escaping @Sendable (HTTP2ClientConnection) throws -> Result) async throws -> Result {
        let connection = self.connection
        return try await connection.eventLoop.submit { try body(connection.value) }.get()
    }

    /// Sends a whole request and waits for the whole response.
    public func request(_ head: HTTP2RequestHead, body: ByteBuffer? = nil, trailers: HTTPHeaders? = nil) async throws -> HTTP2Response {
        let connection = self.connection
        return try await connection.eventLoop.flatSubmit {
            do {
                return try connection.value.sendRequest(head, body: body, trailers: trailers)
            } catch {
                return connection.eventLoop.makeFailedFuture(error)
            }
        }.get()
    }

    /// Opens a stream whose response is read and dropped; returns its id.
    public func open(_ head: HTTP2RequestHead, endStream: Bool) async throws -> HTTP2StreamID {
        try await onLoop { connection in try connection.openStream(head, endStream: endStream, delegate: IgnoringStreamDelegate()) }
    }

    /// Opens a stream whose response head and reset, if any, `watcher` records.
    public func open(_ head: HTTP2RequestHead, endStream: Bool, watcher: StreamWatcher) async throws -> HTTP2StreamID {
        try await onLoop { connection in try connection.openStream(head, endStream: endStream, delegate: watcher) }
    }

    public func reset(_ stream: HTTP2StreamID, code: HTTP2ErrorCode = .cancel) async throws {
        try await onLoop { connection in try connection.resetStream(stream, code: code) }
    }

    /// Closes the connection (GOAWAY) and stops its event loop.
    public func shutdown() async {
        let connection = self.connection
        try? await connection.eventLoop.submit { connection.value.close() }.get()
        try? await group.shutdownGracefully()
    }
}

private final class IgnoringStreamDelegate: HTTP2ClientStreamDelegate {
    func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
    }
    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
}

/// What arrived on one stream opened with `open(_:endStream:watcher:)`: its response status,
/// whether the head ended the stream, and a reset if one came.
public final class StreamWatcher: HTTP2ClientStreamDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var status: Int?
    private var headEndedStream = false
    private var reset: HTTP2StreamReset?

    public init() {}

    public struct Outcome: Sendable, Equatable {
        public var status: Int?
        public var headEndedStream: Bool
        public var reset: HTTP2StreamReset?
    }

    public var outcome: Outcome { lock.withLock { Outcome(status: status, headEndedStream: headEndedStream, reset: reset) } }

    /// Polls every 10 ms until a head or a reset arrived, or `timeout` passed.
    public func waitForOutcome(timeout: Duration = .seconds(10)) async -> Outcome {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = outcome
            if current.status != nil || current.reset != nil { return current }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return outcome
    }

    public func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        lock.withLock {
            status = head.status
            headEndedStream = endStream
        }
    }
    public func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
    }
    public func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
    public func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        lock.withLock { self.reset = reset }
    }
    public func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
}
