import Foundation
import MeshHTTP2
import MeshTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// MeshTestSupport's HTTP/2 client with its connection and stream events recorded in `events`;
/// closed with `shutdown()`.
final class TestClient: Sendable {
    let client: H2TestClient
    let events: ClientEvents

    private init(client: H2TestClient, events: ClientEvents) {
        self.client = client
        self.events = events
    }

    static func connect(port: Int, configuration: HTTP2Configuration = .default) async throws -> TestClient {
        let client = try await H2TestClient.connect(port: port, configuration: configuration)
        let events = ClientEvents()
        do {
            try await client.onLoop { connection in connection.delegate = events }
        } catch {
            await client.shutdown()
            throw error
        }
        return TestClient(client: client, events: events)
    }

    /// Runs `body` with the connection on its event loop.
    func onLoop<Result: Sendable>(_ body: @escaping @Sendable (HTTP2ClientConnection) throws -> Result) async throws -> Result {
        try await client.onLoop(body)
    }

    func request(_ head: HTTP2RequestHead, body: ByteBuffer? = nil, trailers: HTTPHeaders? = nil) async throws -> HTTP2Response {
        try await client.request(head, body: body, trailers: trailers)
    }

    /// Opens a stream whose events are recorded in `events` under the returned id.
    /// With `consume: false` received body is never handed back: the server stalls at the window.
    func openRecordedStream(_ head: HTTP2RequestHead, endStream: Bool, consume: Bool = true) async throws -> HTTP2StreamID {
        let events = self.events
        return try await client.onLoop { connection in
            try connection.openStream(head, endStream: endStream, delegate: RecordingStreamDelegate(events: events, consume: consume))
        }
    }

    func shutdown() async {
        await client.shutdown()
    }
}

/// Runs `body` with a connected client and always shuts it down.
@discardableResult
func withClient<Result>(
    port: Int,
    configuration: HTTP2Configuration = .default,
    _ body: (TestClient) async throws -> Result
)
    async throws -> Result
{
    let client = try await TestClient.connect(port: port, configuration: configuration)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// Stream and connection events as plain values the tests can wait on.
final class ClientEvents: Sendable {
    enum Event: Sendable, Equatable {
        case head(HTTP2StreamID, status: Int, endStream: Bool)
        case body(HTTP2StreamID, bytes: Int)
        case end(HTTP2StreamID, trailers: [String])
        case reset(HTTP2StreamID, HTTP2StreamReset)
        case goAway(lastStreamID: HTTP2StreamID, HTTP2ErrorCode)
        case closed
    }

    private let recorded = Mutex<[Event]>([])
    var all: [Event] { self.recorded.withLock { $0 } }
    func append(_ event: Event) { self.recorded.withLock { $0.append(event) } }

    /// Waits (bounded) until `condition` holds for the recorded events.
    func wait(timeout: Duration = .seconds(10), until condition: ([Event]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(self.all) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(self.all)
    }
}

/// The connection delegate is held weakly by the connection; `TestClient` keeps this one alive.
extension ClientEvents: HTTP2ClientConnectionDelegate {
    func goAwayReceived(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, connection: HTTP2ClientConnection) {
        self.append(.goAway(lastStreamID: lastStreamID, errorCode))
    }

    func connectionClosed(_ connection: HTTP2ClientConnection) { self.append(.closed) }
}

/// Records a stream's events; the delegate reference is kept by the connection's stream state.
final class RecordingStreamDelegate: HTTP2ClientStreamDelegate {
    let events: ClientEvents
    let consume: Bool

    init(events: ClientEvents, consume: Bool = true) {
        self.events = events
        self.consume = consume
    }

    func responseHead(
        _ head: HTTP2ResponseHead,
        endStream: Bool,
        stream: HTTP2StreamID,
        connection: HTTP2ClientConnection
    ) {
        self.events.append(.head(stream, status: head.status, endStream: endStream))
    }

    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        if self.consume { connection.consume(chunk.readableBytes, stream: stream) }
        self.events.append(.body(stream, bytes: chunk.readableBytes))
    }

    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        self.events.append(.end(stream, trailers: (trailers ?? [:]).map { "\($0.name): \($0.value)" }))
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        self.events.append(.reset(stream, reset))
    }
}

/// nghttpd serving a temporary docroot on a free port (retried on collision), stopped by `stop()`.
final class Nghttpd {
    let port: Int
    let docroot: TemporaryDirectory
    private let process: ChildProcess

    private init(port: Int, docroot: TemporaryDirectory, process: ChildProcess) {
        self.port = port
        self.docroot = docroot
        self.process = process
    }

    static func start(files: [String: [UInt8]], arguments: [String] = []) async throws -> Nghttpd {
        let docroot = try TemporaryDirectory()
        for (name, bytes) in files {
            try Data(bytes).write(to: URL(fileURLWithPath: docroot.path(name)))
        }
        for _ in 0..<5 {
            let port = try reserveFreePort()
            let process = try ChildProcess(
                "nghttpd",
                ["--no-tls", "-a", "127.0.0.1", "-d", docroot.url.path] + arguments + [String(port)]
            )
            // Generous: a process starting on a loaded machine can take seconds. A port taken in
            // between makes nghttpd exit, which ends the wait at once; then another port is tried.
            if await waitUntilListening(port: port, timeout: .seconds(20), unless: { !process.isRunning }), process.isRunning {
                return Nghttpd(port: port, docroot: docroot, process: process)
            }
            await process.terminate(grace: .seconds(1))  // The port was taken in between, or nghttpd failed: try another.
        }
        docroot.remove()
        throw TestFailure("nghttpd did not start")
    }

    /// What nghttpd printed so far (with `-v`: every frame and header field it received).
    var output: String { self.process.standardOutput }

    /// Waits (bounded) until the output satisfies `condition`.
    func waitForOutput(timeout: Duration = .seconds(10), _ condition: @escaping @Sendable (String) -> Bool) async -> Bool {
        let process = self.process
        return await process.waitUntil(timeout: timeout) { condition(process.standardOutput) }
    }

    func stop() {
        self.process.terminate(grace: .seconds(1))
        self.docroot.remove()
    }
}
