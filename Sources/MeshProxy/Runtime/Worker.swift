import MeshRouting
import NIOCore

/// Everything one event loop owns (Envoy's worker): the routing snapshot it serves, its
/// destination picker and random generator, cluster states with their connection pools, and
/// its counters. Only its loop touches it, so the request path takes no lock.
final class Worker {
    let index: Int
    let eventLoop: EventLoop
    let configuration: ProxyConfiguration
    let shared: SharedProxyState
    private(set) var snapshot: RoutingSnapshot
    var picker: DestinationPicker
    var random: FastRandom
    var date = HTTPDateCache()
    let stats = WorkerStats()
    /// The clock of the socket read being handled, shared by this loop's HTTP/1.1 connections.
    let readClock = LoopReadClock()
    let accessLog: AccessLogWriter?
    /// Constant bytes written often, allocated once per loop.
    let continueResponse: ByteBuffer
    let crlf: ByteBuffer
    let lastChunk: ByteBuffer
    /// The current snapshot's clusters and their states, by `Cluster.position` (fast path: one
    /// reference compared, where a dictionary keyed by the cluster's identity hashed it per
    /// request), and the states by name (requests that began on an older snapshot, and pool
    /// reuse across swaps). The clusters are held strongly, so that no other cluster object can
    /// take one's address while it is installed.
    private var installedClusters: [Cluster] = []
    private var runtimesByPosition: [ClusterRuntime] = []
    private var runtimesByName: [String: ClusterRuntime] = [:]
    /// Open downstream connections, closed at shutdown.
    private var downstreamChannels: [ObjectIdentifier: Channel] = [:]
    /// Those of them that speak HTTP/2, drained with GOAWAY at shutdown.
    private var http2Channels: Set<ObjectIdentifier> = []

    /// `outliers`: the clusters' shared outlier detection as the proxy published it with
    /// `snapshot`; by default published here (a worker on its own).
    init(index: Int, eventLoop: EventLoop, configuration: ProxyConfiguration, shared: SharedProxyState, snapshot: RoutingSnapshot,
         outliers: [String: OutlierBinding]? = nil) {
        self.index = index
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.shared = shared
        self.snapshot = snapshot
        self.picker = DestinationPicker(mode: configuration.pickerMode(forLoop: index))
        let seed: UInt64
        switch configuration.split {
        case .random(let s): seed = s
        case .exact: seed = 0
        }
        self.random = FastRandom(seed: seed &+ 0x5EED &+ UInt64(index))
        self.accessLog = shared.accessLogSink.map { AccessLogWriter(sink: $0, eventLoop: eventLoop) }
        let allocator = ByteBufferAllocator()
        continueResponse = allocator.buffer(string: ResponseSerializer.continueResponse)
        crlf = allocator.buffer(string: "\r\n")
        lastChunk = allocator.buffer(string: "0\r\n\r\n")
        install(snapshot, outliers: outliers ?? shared.outlierDetectors.publish(snapshot))
    }

    /// Publishes a new snapshot on this loop, with the clusters' outlier detection published with
    /// it. Requests in flight keep the snapshot they started with.
    func install(_ newSnapshot: RoutingSnapshot, outliers: [String: OutlierBinding]) {
        snapshot = newSnapshot
        var byPosition: [ClusterRuntime] = []
        var byName: [String: ClusterRuntime] = [:]
        for cluster in newSnapshot.clusters {
            let state: ClusterRuntime
            if let existing = runtimesByName[cluster.name] {
                existing.update(to: cluster, outlier: outliers[cluster.name])
                state = existing
            } else {
                state = makeState(for: cluster, outlier: outliers[cluster.name])
            }
            byPosition.append(state)
            byName[cluster.name] = state
        }
        for (name, state) in runtimesByName where byName[name] == nil { state.retire() }
        installedClusters = newSnapshot.clusters
        runtimesByPosition = byPosition
        runtimesByName = byName
    }

    func clusterRuntime(for cluster: Cluster) -> ClusterRuntime {
        let position = cluster.position
        if position < installedClusters.count, installedClusters[position] === cluster { return runtimesByPosition[position] }
        // A cluster of an older snapshot (the request started before a swap) or one the
        // snapshot did not list: keep serving it by name.
        if let state = runtimesByName[cluster.name] { return state }
        let state = makeState(for: cluster, outlier: nil)
        runtimesByName[cluster.name] = state
        return state
    }

    private func makeState(for cluster: Cluster, outlier: OutlierBinding?) -> ClusterRuntime {
        ClusterRuntime(
            cluster: cluster, stats: stats, eventLoop: eventLoop,
            registry: shared.circuitBreakers, defaultConnectTimeout: configuration.limits.upstreamConnectTimeout,
            outlier: outlier, workerIndex: index, eventLog: configuration.eventLog, readClock: readClock)
    }

    // MARK: downstream connections

    func track(_ channel: Channel) {
        downstreamChannels[ObjectIdentifier(channel)] = channel
        stats.downstream.activeConnections += 1
        stats.downstream.connectionsAccepted += 1
    }

    func markHTTP2(_ channel: Channel) {
        http2Channels.insert(ObjectIdentifier(channel))
    }

    /// Starts HTTP/2's graceful shutdown (GOAWAY, in-flight streams finish) on every HTTP/2
    /// connection of this loop; returns their close futures.
    func drainHTTP2() -> [EventLoopFuture<Void>] {
        http2Channels.compactMap { id in
            guard let channel = downstreamChannels[id] else { return nil }
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            return channel.closeFuture
        }
    }

    func untrack(_ channel: Channel) {
        http2Channels.remove(ObjectIdentifier(channel))
        if downstreamChannels.removeValue(forKey: ObjectIdentifier(channel)) != nil {
            stats.downstream.activeConnections -= 1
        }
    }

    /// Closes every connection this loop holds, downstream and upstream.
    func closeAll() {
        for channel in downstreamChannels.values { channel.close(promise: nil) }
        for state in runtimesByName.values { state.retire() }
        accessLog?.flush()
    }

    func exportStats() -> StatsSnapshot {
        var snapshot = StatsSnapshot()
        snapshot.workers = 1
        snapshot.revision = self.snapshot.revision
        snapshot.downstream = stats.downstream
        stats.unrouted.export(cluster: nil, workloads: stats.workloads, into: &snapshot)
        for (name, counters) in stats.clusters {
            counters.requests.export(cluster: name, workloads: stats.workloads, into: &snapshot)
            counters.mirroredRequests.export(cluster: name, workloads: stats.workloads, into: &snapshot.mirroredRequests)
            var cluster = StatsSnapshot.ClusterStats()
            cluster.descriptor = counters.descriptor
            cluster.activeRequests = counters.activeRequests
            cluster.pendingRequests = counters.pendingRequests
            cluster.connectionsOpened = counters.connectionsOpened
            cluster.connectFailures = counters.connectFailures
            cluster.overflows = counters.overflows
            cluster.retries = counters.retries
            cluster.shadowsAbandoned = counters.shadowsAbandoned
            runtimesByName[name]?.export(into: &cluster)
            snapshot.clusters[name] = cluster
        }
        return snapshot
    }
}
