import MeshHTTP2
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// One simulated pod: an HTTP/1.1 server on the caller's event loops that answers as its
/// identity, with the latency, errors and concurrency limit of its profile. Started with
/// `servesHTTP2` (as every pod of a `BackendFleet` is), it also answers h2c with prior knowledge
/// on the same port, gRPC requests the gRPC way.
public final class SimulatedBackend: Sendable {
    public let host: String
    public let port: Int
    /// Whether the pod answers h2c (prior knowledge) besides HTTP/1.1.
    public let servesHTTP2: Bool
    private let core: PodCore
    private let serverChannel: any Channel
    private let connections: NIOLockedValueBox<OpenConnections>

    /// Accepted connections, closed on shutdown so that a stopped pod answers nothing more.
    private struct OpenConnections {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var isShutDown = false
    }

    private init(host: String, port: Int, servesHTTP2: Bool, core: PodCore, serverChannel: any Channel, connections: NIOLockedValueBox<OpenConnections>) {
        self.host = host
        self.port = port
        self.servesHTTP2 = servesHTTP2
        self.core = core
        self.serverChannel = serverChannel
        self.connections = connections
    }

    /// Binds `host:port` (port 0: any free port) and starts answering.
    public static func start(
        identity: BackendIdentity, profile: BehaviorProfile, host: String = "127.0.0.1", port: Int = 0,
        group: any EventLoopGroup, seed: UInt64, servesHTTP2: Bool = false
    ) async throws -> SimulatedBackend {
        let core = PodCore(behavior: PodBehavior(identity: identity, profile: profile), seed: seed)
        let connections = NIOLockedValueBox(OpenConnections())
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                let accepted = connections.withLockedValue { open in
                    guard !open.isShutDown else { return false }
                    open.channels[id] = channel
                    return true
                }
                guard accepted else { return channel.close() }
                core.recordConnection()
                channel.closeFuture.whenComplete { _ in
                    _ = connections.withLockedValue { $0.channels.removeValue(forKey: id) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    guard servesHTTP2 else {
                        try Self.addHTTP1Handlers(to: pipeline, pod: core)
                        return
                    }
                    try pipeline.addHandler(HTTP2ProtocolSniffer { detected, channel in
                        switch detected {
                        case .http2PriorKnowledge:
                            // An HTTP/2 client that stops sending has left: its streams end with
                            // the connection (HTTP/1.1 keeps half-closure to answer what it read).
                            try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: false)
                            try channel.pipeline.syncOperations.addHandler(
                                HTTP2ServerConnection(delegate: BackendHTTP2Handler(pod: core)))
                        case .http1:
                            try Self.addHTTP1Handlers(to: channel.pipeline.syncOperations, pod: core)
                        }
                    })
                }
            }
            .bind(host: host, port: port)
            .get()
        guard let boundPort = channel.localAddress?.port else {
            try? await channel.close()
            throw SimulatedBackendError.noLocalAddress(host: host, port: port)
        }
        return SimulatedBackend(host: host, port: boundPort, servesHTTP2: servesHTTP2, core: core, serverChannel: channel, connections: connections)
    }

    private static func addHTTP1Handlers(to pipeline: ChannelPipeline.SynchronousOperations, pod: PodCore) throws {
        // The decoder is only ever removed after a WebSocket upgrade: the bytes it kept past the
        // handshake are the client's first frames.
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        try pipeline.addHandler(BackendConnectionHandler(pod: pod))
    }

    public var identity: BackendIdentity { core.behavior.identity }
    public var profile: BehaviorProfile { core.behavior.profile }
    public var stats: BackendStats { core.stats }

    /// Changes who the pod is and how it behaves, keeping its port and connections; requests
    /// already started finish with the behaviour they started with.
    public func update(identity: BackendIdentity, profile: BehaviorProfile) {
        let current = core.behavior
        guard current.identity != identity || current.profile != profile else { return }
        core.replaceBehavior(PodBehavior(identity: identity, profile: profile))
    }

    /// Stops listening and closes every connection (requests in flight get no answer, as when
    /// a pod is killed). Idempotent.
    public func shutdown() async throws {
        for connection in try await stopListening() {
            do {
                try await connection.close()
            } catch ChannelError.alreadyClosed {}
        }
    }

    /// Stops like a pod given time to terminate: no new connections; the request in progress on
    /// each connection is answered (with `connection: close`; requests pipelined behind it are
    /// not), idle connections close at once, and whatever is still open after `gracePeriod` is
    /// closed.
    public func shutdown(drainingFor gracePeriod: TimeAmount) async throws {
        let open = try await stopListening()
        guard !open.isEmpty else { return }
        for connection in open {
            connection.pipeline.fireUserInboundEventTriggered(BackendConnectionHandler.Drain())
            // An h2c connection drains with GOAWAY: streams in flight finish, no new ones start.
            if servesHTTP2 { connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        }
        let loop = serverChannel.eventLoop
        let deadline = loop.scheduleTask(in: gracePeriod) {
            for connection in open { connection.close(promise: nil) }
        }
        try? await EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: loop).get()
        deadline.cancel()
    }

    /// Closes the listener and returns the connections open at that moment; none is accepted after.
    private func stopListening() async throws -> [any Channel] {
        do {
            try await serverChannel.close()
        } catch ChannelError.alreadyClosed {}
        return connections.withLockedValue { open in
            open.isShutDown = true
            return Array(open.channels.values)
        }
    }
}

public enum SimulatedBackendError: Error, Sendable, Hashable, CustomStringConvertible {
    case noLocalAddress(host: String, port: Int)

    public var description: String {
        switch self {
        case .noLocalAddress(let host, let port): return "listener on \(host):\(port) has no local address"
        }
    }
}
