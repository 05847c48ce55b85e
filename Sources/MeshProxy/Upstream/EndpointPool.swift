import MeshRouting
import NIOCore
import NIOHTTP1
import NIOPosix

/// Who waits for a connection from a pool.
protocol PoolWaiter: AnyObject {
    func poolDidProvide(_ connection: any UpstreamTransport)
    func poolDidFail(_ error: Error)
}

/// This event loop's keep-alive connections to one endpoint of one cluster (Envoy's per-worker
/// connection pool). Only its loop touches it: no locks. The cluster's circuit breakers
/// (`ClusterLimits`), when set, bound connections and pending requests proxy-wide.
final class EndpointPool {
    enum Acquisition {
        case ready(any UpstreamTransport)
        /// The waiter is called back when a connection is ready or cannot be made.
        case pending
        /// `http1MaxPendingRequests` is reached: 503 UO.
        case overflow
    }

    let address: EndpointAddress
    let eventLoop: EventLoop
    let limits: ClusterLimits?
    let counters: WorkerStats.ClusterCounters
    let connectTimeout: TimeAmount
    let maxRequestsPerConnection: Int
    /// The worker's, for the HTTP/1.1 connections opened here.
    let readClock: LoopReadClock

    private var idle: [UpstreamConnection] = []
    private var waiters = CircularBuffer<PoolWaiter>()
    private var connecting = 0
    /// Open HTTP/1.1 connections (idle, in use, or connecting).
    private var http1Connections = 0
    /// What the cluster speaks to this endpoint; a cluster that follows the client's protocol
    /// keeps both kinds of connection, as Envoy keeps a pool per protocol.
    let upstreamProtocol: UpstreamProtocol
    /// The h2c connections, unless the cluster speaks HTTP/1.1 only.
    let http2: HTTP2ConnectionPool?
    /// `http2`, lent to `acquire` without a retain: `http2` holds it for this pool's life. Bound
    /// from the optional, it was retained and released per request.
    private let lentHTTP2: Unmanaged<HTTP2ConnectionPool>?
    /// Open connections (idle, in use, or connecting).
    var openConnections: Int { http1Connections + (http2?.openConnections ?? 0) }
    /// Requests in flight on this endpoint, read by the LEAST_REQUEST balancer.
    var activeRequests = 0
    /// Connects that failed (Envoy's per-host `cx_connect_fail`).
    private(set) var connectFailures: UInt64 = 0
    /// Set when the endpoint left the config: idle connections close, returned ones too.
    private(set) var retired = false

    var idleCount: Int { idle.count + (http2?.idleCount ?? 0) }

    /// - Parameter http2MaxStreams: the DestinationRule's `maxConcurrentStreams` for h2c
    ///   connections (0: the server's own limit).
    init(address: EndpointAddress, eventLoop: EventLoop, limits: ClusterLimits?, counters: WorkerStats.ClusterCounters,
         connectTimeout: TimeAmount, maxRequestsPerConnection: Int, upstreamProtocol: UpstreamProtocol = .http1, http2MaxStreams: Int = 0,
         readClock: LoopReadClock = LoopReadClock()) {
        self.readClock = readClock
        self.address = address
        self.eventLoop = eventLoop
        self.limits = limits
        self.counters = counters
        self.connectTimeout = connectTimeout
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.upstreamProtocol = upstreamProtocol
        self.http2 = upstreamProtocol == .http1 ? nil : HTTP2ConnectionPool(
            address: address, eventLoop: eventLoop, limits: limits, counters: counters, connectTimeout: connectTimeout,
            maxRequestsPerConnection: maxRequestsPerConnection, maxStreamsPerConnection: http2MaxStreams)
        self.lentHTTP2 = http2.map { Unmanaged.passUnretained($0) }
    }

    var http2MaxStreams: Int { http2?.maxStreamsPerConnection ?? 0 }

    /// Whether a request that arrived over HTTP/2 (`clientUsesHTTP2`) or HTTP/1.1 goes out as h2c.
    func usesHTTP2(clientUsesHTTP2: Bool) -> Bool { upstreamProtocol.usesHTTP2(clientUsesHTTP2: clientUsesHTTP2) }

    func acquire(for waiter: PoolWaiter, clientUsesHTTP2: Bool) -> Acquisition {
        if let lentHTTP2, usesHTTP2(clientUsesHTTP2: clientUsesHTTP2) {
            return lentHTTP2._withUnsafeGuaranteedRef { $0.acquire(for: waiter) }
        }
        while let connection = idle.popLast() {
            if connection.isOpen { return .ready(connection) }
        }
        // Envoy counts a request as pending from here until a connection is ready for it.
        if let limits, !limits.tryAcquirePending() { return .overflow }
        counters.pendingRequests += 1
        waiters.append(waiter)
        openConnectionsForWaiters()
        return .pending
    }

    /// A waiter that gave up (timeout, client gone) before a connection came.
    func cancel(_ waiter: PoolWaiter) {
        guard let index = waiters.firstIndex(where: { $0 === waiter }) else {
            http2?.cancel(waiter)
            return
        }
        waiters.remove(at: index)
        leavePending()
    }

    /// Returns a connection after a request; `reusable` says whether its framing allows another.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        connection.delegate = nil
        guard reusable, connection.isOpen,
              maxRequestsPerConnection == 0 || connection.requestsServed < maxRequestsPerConnection
        else {
            connection.close()
            return
        }
        // A retired pool still serves the requests that were waiting on it when a reload
        // replaced it (they keep the config they started with); only then are its connections closed.
        if let waiter = waiters.popFirst() {
            leavePending()
            waiter.poolDidProvide(connection)
        } else if retired {
            connection.close()
        } else {
            idle.append(connection)
        }
    }

    /// Called by the connection when its channel closes, whatever the reason.
    func connectionClosed(_ connection: UpstreamConnection) {
        if let index = idle.firstIndex(where: { $0 === connection }) { idle.remove(at: index) }
        http1Connections -= 1
        limits?.releaseConnection()
        connection.pool = nil
        openConnectionsForWaiters()
    }

    /// Closes idle connections and refuses returns; used when the endpoint leaves the config
    /// and at shutdown.
    func retire() {
        retired = true
        http2?.retire()
        let closing = idle
        idle.removeAll()
        for connection in closing { connection.close() }
    }

    private func leavePending() {
        counters.pendingRequests -= 1
        limits?.releasePending()
    }

    /// Opens connections while waiters outnumber connections being made and the cluster's
    /// `maxConnections` allows; beyond it, waiters wait for a returned connection. A retired
    /// pool still connects for its waiters (a request that began on an older snapshot, or a
    /// retry after a reload, finishes there); those connections close once used.
    private func openConnectionsForWaiters() {
        while waiters.count > connecting {
            if let limits, !limits.tryAcquireConnection() { return }
            connect()
        }
    }

    private func connect() {
        connecting += 1
        http1Connections += 1
        counters.connectionsOpened += 1
        // The connection writes and decodes HTTP/1.1 itself: one handler, no codec.
        let future = UpstreamBootstrap.connect(to: address, on: eventLoop, timeout: connectTimeout) { [readClock] in UpstreamConnection(readClock: readClock) }
        future.assumeIsolated().whenComplete { result in
            self.connecting -= 1
            switch result {
            case .success(let channel):
                guard let connection = try? channel.pipeline.syncOperations.handler(type: UpstreamConnection.self) else {
                    channel.close(promise: nil)
                    self.connectFailed(ChannelError.ioOnClosedChannel)
                    return
                }
                connection.pool = self
                if !channel.isActive {
                    // Closed between connect and now; channelInactive already ran without a pool.
                    self.connectionClosedBeforeUse()
                    return
                }
                self.release(connection, reusable: true)
            case .failure(let error):
                self.connectFailed(error)
            }
        }
    }

    private func connectionClosedBeforeUse() {
        http1Connections -= 1
        limits?.releaseConnection()
        if let waiter = waiters.popFirst() {
            leavePending()
            waiter.poolDidFail(ChannelError.ioOnClosedChannel)
        }
    }

    private func connectFailed(_ error: Error) {
        http1Connections -= 1
        counters.connectFailures += 1
        connectFailures += 1
        limits?.releaseConnection()
        // The request that caused this attempt (the oldest waiter) learns of the failure; Envoy
        // fails pending requests once no connection is on its way for them.
        if let waiter = waiters.popFirst() {
            leavePending()
            waiter.poolDidFail(error)
        }
    }
}
