import Foundation
import MeshHTTP2
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What the test server saw, readable from the tests' threads.
final class ServerObservations: Sendable {
    private struct State {
        var maxOutboundQueuedBytes = 0
        var resets: [HTTP2StreamReset] = []
        var completedStreams = 0
    }

    private let state = Mutex(State())

    var maxOutboundQueuedBytes: Int { self.state.withLock { $0.maxOutboundQueuedBytes } }
    var resets: [HTTP2StreamReset] { self.state.withLock { $0.resets } }
    var completedStreams: Int { self.state.withLock { $0.completedStreams } }

    func record(queued: Int) {
        self.state.withLock { $0.maxOutboundQueuedBytes = max($0.maxOutboundQueuedBytes, queued) }
    }
    func record(reset: HTTP2StreamReset) { self.state.withLock { $0.resets.append(reset) } }
    func recordCompleted(queued: Int) {
        self.state.withLock {
            $0.completedStreams += 1
            $0.maxOutboundQueuedBytes = max($0.maxOutboundQueuedBytes, queued)
        }
    }
}

/// The h2c server of the tests, on `HTTP2ServerConnection`:
/// - `/` answers `hello\n` (the benchmark's tiny response);
/// - `/echo` streams the request body back as it arrives and echoes trailers with an `echo-` prefix;
/// - `/download?bytes=N` streams N pattern bytes (`PatternBytes`) while the stream is writable;
/// - `/trailers` answers a body then gRPC trailers; `/reset?code=N` resets the stream;
/// - `/inspect` answers the request's pseudo-headers, stream id and header names;
/// - `/hold` answers only once the request ends (for idle-timeout tests);
/// - `/goaway` starts a graceful shutdown of its connection, then answers.
final class AnswerDelegate: HTTP2ServerDelegate {
    private enum Route {
        case echo
        case hold
        case download(remaining: Int, offset: Int)
    }

    private var routes: [HTTP2StreamID: Route] = [:]
    private let observations: ServerObservations
    private static let hello = ByteBuffer(string: "hello\n")
    private static let chunkSize = 64 * 1024

    init(observations: ServerObservations) {
        self.observations = observations
    }

    func requestHead(
        _ head: HTTP2RequestHead,
        endStream: Bool,
        stream: HTTP2StreamID,
        connection: HTTP2ServerConnection
    ) {
        let questionMark = head.path.firstIndex(of: "?")
        let path = questionMark.map { String(head.path[..<$0]) } ?? head.path
        let query = questionMark.map { String(head.path[head.path.index(after: $0)...]) } ?? ""
        do {
            switch path {
            case "/echo":
                self.routes[stream] = .echo
                try connection.sendResponseHead(
                    HTTP2ResponseHead(status: 200, headers: ["content-type": "application/octet-stream"]),
                    stream: stream,
                    endStream: false
                )
                if endStream { try connection.sendEnd(stream: stream) }
            case "/download":
                let total = Int(query.replacingOccurrences(of: "bytes=", with: "")) ?? 0
                try connection.sendResponseHead(
                    HTTP2ResponseHead(status: 200, headers: ["content-length": String(total)]),
                    stream: stream
                )
                self.routes[stream] = .download(remaining: total, offset: 0)
                try self.produce(stream: stream, connection: connection)
            case "/trailers":
                try connection.sendResponse(
                    HTTP2ResponseHead(status: 200, headers: ["content-type": "application/grpc"]),
                    body: ByteBuffer(string: "payload"),
                    trailers: ["grpc-status": "0", "grpc-message": "all good"],
                    stream: stream
                )
            case "/reset":
                let code = UInt32(query.replacingOccurrences(of: "code=", with: "")) ?? 8
                try connection.resetStream(stream, code: HTTP2ErrorCode(code))
            case "/inspect":
                let names = head.headers.map { $0.name }.joined(separator: ",")
                let text =
                    "stream=\(stream) method=\(head.method) scheme=\(head.scheme) authority=\(head.authority) path=\(head.path) headers=\(names)\n"
                try connection.sendResponse(
                    HTTP2ResponseHead(status: 200),
                    body: ByteBuffer(string: text),
                    stream: stream
                )
            case "/goaway":
                connection.initiateGracefulShutdown()
                try connection.sendResponse(
                    HTTP2ResponseHead(status: 200),
                    body: ByteBuffer(string: "bye\n"),
                    stream: stream
                )
            case "/hold":
                self.routes[stream] = .hold
                if endStream { try self.answerHold(stream: stream, connection: connection) }
            default:
                try connection.sendResponse(
                    HTTP2ResponseHead(status: 200, headers: ["content-type": "text/plain"]),
                    body: Self.hello,
                    stream: stream
                )
            }
        } catch {
            try? connection.resetStream(stream, code: .internalError)
        }
    }

    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard case .echo = self.routes[stream] else {
            connection.consume(chunk.readableBytes, stream: stream)
            return
        }
        // Window goes back only once the echoed bytes left: the client cannot outrun the echo.
        let count = chunk.readableBytes
        guard let sent = connection.eventLoop?.makePromise(of: Void.self) else { return }
        sent.futureResult.assumeIsolated().whenSuccess { connection.consume(count, stream: stream) }
        do {
            try connection.sendBody(chunk, stream: stream, promise: sent)
        } catch {
            try? connection.resetStream(stream, code: .internalError)
        }
    }

    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        switch self.routes[stream] {
        case .echo:
            var echoed = HTTPHeaders()
            for (name, value) in trailers ?? [:] { echoed.add(name: "echo-\(name)", value: value) }
            try? connection.sendEnd(stream: stream, trailers: echoed.isEmpty ? nil : echoed)
        case .hold:
            try? self.answerHold(stream: stream, connection: connection)
        default:
            break
        }
    }

    private func answerHold(stream: HTTP2StreamID, connection: HTTP2ServerConnection) throws {
        try connection.sendResponse(HTTP2ResponseHead(status: 200), body: ByteBuffer(string: "held\n"), stream: stream)
    }

    func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        if isWritable { try? self.produce(stream: stream, connection: connection) }
    }

    private func produce(stream: HTTP2StreamID, connection: HTTP2ServerConnection) throws {
        guard case .download(var remaining, var offset) = self.routes[stream] else { return }
        while remaining > 0 && connection.isWritable(stream: stream) {
            let size = min(Self.chunkSize, remaining)
            let chunk = PatternBytes.buffer(offset: offset, count: size)
            remaining -= size
            offset += size
            try connection.sendBody(chunk, stream: stream, endStream: remaining == 0)
        }
        self.routes[stream] = remaining > 0 ? .download(remaining: remaining, offset: offset) : nil
        self.observations.record(queued: connection.maxOutboundQueuedBytes)
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        if !self.routes.isEmpty { self.routes[stream] = nil }
        self.observations.record(reset: reset)
    }

    func streamClosed(_ stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        if !self.routes.isEmpty { self.routes[stream] = nil }
        self.observations.recordCompleted(queued: connection.maxOutboundQueuedBytes)
    }
}

/// The deterministic bytes `/download` serves: byte i is i mod 251.
enum PatternBytes {
    static func buffer(offset: Int, count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            for index in 0..<count { raw[index] = UInt8((offset + index) % 251) }
            return count
        }
        return buffer
    }
}

/// Answers HTTP/1.1 requests that reach the sniffer's HTTP/1 path.
final class HTTP1Answer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = Self.unwrapInboundIn(data) else { return }
        let body = ByteBuffer(string: "hello over http/1.1\n")
        let head = HTTPResponseHead(
            version: .http1_1,
            status: .ok,
            headers: ["content-length": String(body.readableBytes), "x-protocol": "http/1.1"]
        )
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// A running test server on 127.0.0.1:<ephemeral>; `stop()` closes it and its event loop.
final class AnswerServer: Sendable {
    enum Mode: Sendable {
        /// HTTP/2 prior knowledge, HTTP/1.1 and `Upgrade: h2c` on one port.
        case sniffing
        /// Only HTTP/2 (no sniffer): bytes go straight to the nghttp2 session.
        case http2Only
    }

    let port: Int
    let observations: ServerObservations
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let connections: ConnectionList

    private init(
        port: Int,
        observations: ServerObservations,
        group: MultiThreadedEventLoopGroup,
        channel: any Channel,
        connections: ConnectionList
    ) {
        self.connections = connections
        self.port = port
        self.observations = observations
        self.group = group
        self.channel = channel
    }

    static func start(mode: Mode = .sniffing, configuration: HTTP2Configuration = .default) async throws -> AnswerServer
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let observations = ServerObservations()
        let connections = ConnectionList()
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    connections.add(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        let makeDelegate = { AnswerDelegate(observations: observations) as any HTTP2ServerDelegate }
                        switch mode {
                        case .sniffing:
                            try channel.pipeline.syncOperations.addHandler(
                                HTTP2ProtocolSniffer.server(
                                    configuration: configuration,
                                    makeDelegate: makeDelegate,
                                    http1Handlers: { [HTTP1Answer()] }
                                )
                            )
                        case .http2Only:
                            try channel.pipeline.syncOperations.addHandler(
                                HTTP2ServerConnection(configuration: configuration, delegate: makeDelegate())
                            )
                        }
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
            guard let port = channel.localAddress?.port else {
                try await channel.close()
                throw TestFailure("server has no port")
            }
            return AnswerServer(
                port: port,
                observations: observations,
                group: group,
                channel: channel,
                connections: connections
            )
        } catch {
            try await group.shutdownGracefully()
            throw error
        }
    }

    var url: String { "http://127.0.0.1:\(self.port)" }

    /// What a server's shutdown does (NIO's ServerQuiescingHelper): stop accepting, then ask
    /// every open connection to quiesce.
    func quiesce() async throws {
        try await self.channel.close()
        for connection in self.connections.all {
            connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func stop() async throws {
        try? await self.channel.close()
        try await self.group.shutdownGracefully()
    }
}

/// The accepted connections of a server.
final class ConnectionList: Sendable {
    private let channels = Mutex<[any Channel]>([])
    func add(_ channel: any Channel) { self.channels.withLock { $0.append(channel) } }
    var all: [any Channel] { self.channels.withLock { $0 } }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` against a fresh server and always stops the server afterwards.
@discardableResult
func withAnswerServer<Result>(
    mode: AnswerServer.Mode = .sniffing,
    configuration: HTTP2Configuration = .default,
    _ body: (AnswerServer) async throws -> Result
) async throws -> Result {
    let server = try await AnswerServer.start(mode: mode, configuration: configuration)
    do {
        let result = try await body(server)
        try await server.stop()
        return result
    } catch {
        try? await server.stop()
        throw error
    }
}
