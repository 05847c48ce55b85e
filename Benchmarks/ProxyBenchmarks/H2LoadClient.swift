import MeshHTTP2
import NIOCore
import NIOHTTP1
import NIOPosix

/// HTTP/2 prior-knowledge (h2c) load over MeshHTTP2's client connections, on one event loop of
/// its own: a fixed number of streams kept in flight on each connection, the same request head
/// every time, bodies handed back to flow control unread.
final class H2LoadDriver: HTTP2ClientStreamDelegate {
    struct Outcome: Sendable {
        var responses = 0
        var non200 = 0
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Longest wait for a whole iteration before it fails.
    static let timeout: TimeAmount = .seconds(30)

    private let eventLoop: any EventLoop
    private let connections: [HTTP2ClientConnection]
    private let streamsPerConnection: Int
    private let head: HTTP2RequestHead
    private var unsent = 0
    private var inFlight = 0
    private var outcome = Outcome()
    private var promise: EventLoopPromise<Outcome>?
    private var deadline: Scheduled<Void>?

    private init(eventLoop: any EventLoop, connections: [HTTP2ClientConnection], streamsPerConnection: Int, head: HTTP2RequestHead) {
        self.eventLoop = eventLoop
        self.connections = connections
        self.streamsPerConnection = streamsPerConnection
        self.head = head
    }

    /// Opens `connectionCount` connections to `host:port` on `eventLoop` and returns the driver
    /// bound to that loop.
    static func connect(
        host: String, port: Int, connectionCount: Int, streamsPerConnection: Int, head: HTTP2RequestHead, eventLoop: any EventLoop
    ) async throws -> NIOLoopBound<H2LoadDriver> {
        var opened: [NIOLoopBound<HTTP2ClientConnection>] = []
        for _ in 0..<connectionCount {
            opened.append(try await HTTP2ClientConnection.connect(host: host, port: port, group: eventLoop).get())
        }
        let connections = opened
        return try await eventLoop.submit {
            let driver = H2LoadDriver(
                eventLoop: eventLoop, connections: connections.map(\.value), streamsPerConnection: streamsPerConnection, head: head)
            return NIOLoopBound(driver, eventLoop: eventLoop)
        }.get()
    }

    /// Sends `count` requests, `streamsPerConnection` in flight on each connection, and completes
    /// when every response has ended. Call on the driver's event loop.
    func run(requests count: Int) -> EventLoopFuture<Outcome> {
        let promise = eventLoop.makePromise(of: Outcome.self)
        guard self.promise == nil else {
            promise.fail(Failure(description: "an iteration is already running"))
            return promise.futureResult
        }
        self.promise = promise
        outcome = Outcome()
        unsent = count
        deadline = eventLoop.assumeIsolated().scheduleTask(in: Self.timeout) { [self] in
            finish(.failure(Failure(description: "\(outcome.responses) of \(count) responses within \(Self.timeout.nanoseconds / 1_000_000_000) s")))
        }
        for connection in connections {
            for _ in 0..<streamsPerConnection where unsent > 0 {
                openStream(on: connection)
            }
        }
        if unsent == 0 && inFlight == 0 { finish(.success(outcome)) }
        return promise.futureResult
    }

    /// Sends GOAWAY on every connection (they close once idle).
    func close() {
        for connection in connections { connection.close() }
    }

    private func openStream(on connection: HTTP2ClientConnection) {
        do {
            try connection.openStream(head, endStream: true, delegate: self)
            unsent -= 1
            inFlight += 1
        } catch {
            finish(.failure(error))
        }
    }

    private func streamFinished(on connection: HTTP2ClientConnection) {
        inFlight -= 1
        outcome.responses += 1
        if unsent > 0 {
            openStream(on: connection)
        } else if inFlight == 0 {
            finish(.success(outcome))
        }
    }

    private func finish(_ result: Result<Outcome, any Error>) {
        guard let promise else { return }
        self.promise = nil
        deadline?.cancel()
        deadline = nil
        // A failed iteration stops sending; streams still open finish unnoticed.
        unsent = 0
        promise.completeWith(result)
    }

    // MARK: HTTP2ClientStreamDelegate

    func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        if head.status != 200 { outcome.non200 += 1 }
        if endStream { streamFinished(on: connection) }
    }

    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
    }

    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        streamFinished(on: connection)
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        finish(.failure(reset))
    }
}
