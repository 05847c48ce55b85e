import MeshHTTP2
import MeshRouting
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// meshsim's data plane: an HTTP/1.1 and HTTP/2 (h2c) reverse proxy that routes live traffic with a
/// `RoutingSnapshot`, as an Istio sidecar (Envoy) would.
///
/// Each event loop is a worker with its own copy of the current snapshot, destination picker,
/// upstream connection pools and counters; the request path takes no lock shared between loops.
/// `apply(_:)` publishes a new snapshot to every loop; a request keeps the snapshot it started
/// with. Most callers start a whole mesh (simulated pods and proxy) with `LocalMesh`; use
/// `MeshProxy` directly to serve a snapshot whose endpoints already listen.
public final class MeshProxy: Sendable {
    public let configuration: ProxyConfiguration
    /// Where the listener is bound (with the real port when `configuration.port` was 0).
    public let localAddress: SocketAddress
    public var port: Int { localAddress.port ?? 0 }

    private struct WorkerSlot: Sendable {
        let eventLoop: EventLoop
        let worker: NIOLoopBound<Worker>
    }

    private let group: EventLoopGroup
    private let ownsGroup: Bool
    private let serverChannel: Channel
    private let workers: [WorkerSlot]
    private let current: NIOLockedValueBox<RoutingSnapshot>
    private let shared: SharedProxyState
    private let stopped = NIOLockedValueBox(false)

    private init(configuration: ProxyConfiguration, localAddress: SocketAddress, group: EventLoopGroup, ownsGroup: Bool,
                 serverChannel: Channel, workers: [WorkerSlot], snapshot: RoutingSnapshot, shared: SharedProxyState) {
        self.configuration = configuration
        self.localAddress = localAddress
        self.group = group
        self.ownsGroup = ownsGroup
        self.serverChannel = serverChannel
        self.workers = workers
        self.current = NIOLockedValueBox(snapshot)
        self.shared = shared
    }

    /// Binds the listener and starts serving `snapshot`.
    /// - Parameter group: event loops to run on; by default the proxy makes
    ///   `configuration.workers` loops and shuts them down in `shutdown()`.
    public static func start(snapshot: RoutingSnapshot, configuration: ProxyConfiguration = ProxyConfiguration(),
                             group: EventLoopGroup? = nil) async throws -> MeshProxy {
        let ownsGroup = group == nil
        let group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.workers))
        do {
            let shared = try SharedProxyState(configuration: configuration)
            let outliers = shared.outlierDetectors.publish(snapshot)
            var slots: [WorkerSlot] = []
            var index = 0
            for loop in group.makeIterator() {
                let workerIndex = index
                let bound = try await loop.submit {
                    NIOLoopBound(
                        Worker(
                            index: workerIndex, eventLoop: loop, configuration: configuration, shared: shared, snapshot: snapshot,
                            outliers: outliers),
                        eventLoop: loop)
                }.get()
                slots.append(WorkerSlot(eventLoop: loop, worker: bound))
                index += 1
            }
            let byLoop = Dictionary(uniqueKeysWithValues: slots.map { (ObjectIdentifier($0.eventLoop), $0.worker) })
            let limits = configuration.limits
            let http2 = {
                var http2 = configuration.http2
                http2.streamIdleTimeout = limits.streamIdleTimeout
                return http2
            }()
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    guard let bound = byLoop[ObjectIdentifier(channel.eventLoop)] else {
                        return channel.close()
                    }
                    let worker = bound.value
                    guard shared.admitConnection() else {
                        worker.stats.downstream.connectionsOverflowed += 1
                        return channel.close()
                    }
                    worker.track(channel)
                    channel.closeFuture.whenComplete { _ in
                        shared.connectionClosed()
                        bound.value.untrack(channel)
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        // One handler for the whole connection: it sniffs HTTP/2's preface (then
                        // hands over to the HTTP/2 codec), keeps the timeouts and decodes HTTP/1.1.
                        try channel.pipeline.syncOperations.addHandler(
                            DownstreamHandler(worker: worker, limits: limits, http2Configuration: http2))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
            guard let address = channel.localAddress else {
                try? await channel.close()
                throw ChannelError.unknownLocalAddress
            }
            return MeshProxy(
                configuration: configuration, localAddress: address, group: group, ownsGroup: ownsGroup,
                serverChannel: channel, workers: slots, snapshot: snapshot, shared: shared)
        } catch {
            if ownsGroup { try? await group.shutdownGracefully() }
            throw error
        }
    }

    /// The snapshot most recently applied (new requests on every loop use it once its
    /// publication has run there).
    public var snapshot: RoutingSnapshot { current.withLockedValue { $0 } }

    /// Publishes `snapshot` to every event loop (`loop.execute`), without waiting. Requests in
    /// flight finish with the snapshot they started with; pools of endpoints that stay are kept.
    public func apply(_ snapshot: RoutingSnapshot) {
        let outliers = publish(snapshot)
        for slot in workers {
            let worker = slot.worker
            slot.eventLoop.execute { worker.value.install(snapshot, outliers: outliers) }
        }
    }

    /// Publishes `snapshot` and returns once every event loop serves it.
    public func applyAndWait(_ snapshot: RoutingSnapshot) async {
        let outliers = publish(snapshot)
        for slot in workers {
            let worker = slot.worker
            try? await slot.eventLoop.submit { worker.value.install(snapshot, outliers: outliers) }.get()
        }
    }

    /// Makes `snapshot` current and updates the clusters' shared outlier detectors for it, under
    /// one lock, so that detectors follow the revisions in order even when the loops install them
    /// out of step.
    private func publish(_ snapshot: RoutingSnapshot) -> [String: OutlierBinding] {
        current.withLockedValue { current in
            current = snapshot
            return shared.outlierDetectors.publish(snapshot)
        }
    }

    /// Sums every loop's counters and gauges (each copied on its own loop).
    public func collectStats() async -> StatsSnapshot {
        var total = StatsSnapshot()
        for part in await collectStatsByWorker() { total.merge(part) }
        return total
    }

    /// Each loop's own counters and gauges, in worker order: how the work spread over the loops.
    func collectStatsByWorker() async -> [StatsSnapshot] {
        var parts: [StatsSnapshot] = []
        for slot in workers {
            let worker = slot.worker
            if let part = try? await slot.eventLoop.submit({ worker.value.exportStats() }).get() {
                parts.append(part)
            }
        }
        return parts
    }

    /// Stops listening, closes every connection and, when the proxy made its event loops,
    /// shuts them down. Safe to call twice.
    public func shutdown() async throws {
        let alreadyStopped = stopped.withLockedValue { value -> Bool in
            defer { value = true }
            return value
        }
        guard !alreadyStopped else { return }
        try? await serverChannel.close()
        // HTTP/2 clients get GOAWAY and their streams in flight finish (bounded by the codec's
        // gracefulShutdownTimeout); HTTP/1.1 connections are closed as before.
        var draining: [EventLoopFuture<Void>] = []
        for slot in workers {
            let worker = slot.worker
            if let futures = try? await slot.eventLoop.submit({ worker.value.drainHTTP2() }).get() {
                draining += futures
            }
        }
        for future in draining { try? await future.get() }
        for slot in workers {
            let worker = slot.worker
            try? await slot.eventLoop.submit { worker.value.closeAll() }.get()
        }
        if ownsGroup { try await group.shutdownGracefully() }
    }
}
