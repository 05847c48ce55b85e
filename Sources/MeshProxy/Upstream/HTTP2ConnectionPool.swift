import MeshHTTP2
import MeshRouting
import NIOCore
import NIOPosix

/// This event loop's h2c connections to one endpoint (Envoy's per-worker HTTP/2 pool): requests
/// are streams multiplexed on the connections already open; a new connection is made only when
/// none has a free stream (the server's MAX_CONCURRENT_STREAMS, capped by the DestinationRule's
/// `maxConcurrentStreams`, and `maxRequestsPerConnection`). Only its loop touches it.
final class HTTP2ConnectionPool: HTTP2ClientConnectionDelegate {
    /// One connection and the streams handed out on it.
    final class Slot {
        let client: HTTP2ClientConnection
        let eventLoop: any EventLoop
        /// Streams handed to requests and not yet finished.
        var assigned = 0
        /// Streams finished on it, for `maxRequestsPerConnection`.
        var served = 0
        var goingAway = false

        init(client: HTTP2ClientConnection, eventLoop: any EventLoop) {
            self.client = client
            self.eventLoop = eventLoop
        }
    }

    let address: EndpointAddress
    let eventLoop: any EventLoop
    let limits: ClusterLimits?
    let counters: WorkerStats.ClusterCounters
    let connectTimeout: TimeAmount
    let maxRequestsPerConnection: Int
    /// The DestinationRule's `connectionPool.http.maxConcurrentStreams`; 0: the server's setting.
    let maxStreamsPerConnection: Int

    private var slots: [Slot] = []
    /// Stream objects of finished requests, handed to later ones once nothing else references
    /// them (the exchange and the connection let go when the stream closes): a new object per
    /// request cost a malloc and a free. Bounded, above a connection's usual stream limit
    /// (nghttp2's default is 100): streams finish and start in bursts, and with 32 two thirds of
    /// a burst allocated again. Those of a closed connection go with it.
    private var spareStreams: [HTTP2UpstreamStream] = []
    private static let maxSpareStreams = 128
    /// Spares looked at per request, newest first (older ones are usually free too).
    private static let maxSparesExamined = 8
    private var waiters = CircularBuffer<any PoolWaiter>()
    private var connecting = 0
    private(set) var openConnections = 0
    private var retired = false

    /// Connections with no stream in use.
    var idleCount: Int { slots.filter { $0.assigned == 0 && !$0.goingAway }.count }

    init(address: EndpointAddress, eventLoop: any EventLoop, limits: ClusterLimits?, counters: WorkerStats.ClusterCounters,
         connectTimeout: TimeAmount, maxRequestsPerConnection: Int, maxStreamsPerConnection: Int) {
        self.address = address
        self.eventLoop = eventLoop
        self.limits = limits
        self.counters = counters
        self.connectTimeout = connectTimeout
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.maxStreamsPerConnection = maxStreamsPerConnection
    }

    func acquire(for waiter: any PoolWaiter) -> EndpointPool.Acquisition {
        if waiters.isEmpty, let index = firstSlotWithFreeStream() {
            // Lent: `slots` holds the slot through the call (assign removes none).
            return .ready(Unmanaged.passUnretained(slots[index])._withUnsafeGuaranteedRef { assign($0) })
        }
        if let limits, !limits.tryAcquirePending() { return .overflow }
        counters.pendingRequests += 1
        waiters.append(waiter)
        openConnectionsForWaiters()
        return .pending
    }

    func cancel(_ waiter: any PoolWaiter) {
        guard let index = waiters.firstIndex(where: { $0 === waiter }) else { return }
        waiters.remove(at: index)
        leavePending()
    }

    /// Closes connections once their streams finish, and opens no more.
    func retire() {
        retired = true
        for slot in slots where slot.assigned == 0 { goAway(slot) }
    }

    /// A stream handed out by `assign` finished (response done, reset, or abandoned); its object
    /// is kept for a later request.
    func streamFinished(_ stream: HTTP2UpstreamStream) {
        var kept: HTTP2UpstreamStream? = stream
        streamFinished(handing: &kept)
    }

    /// `streamFinished` for a caller that hands its reference over: it is moved into the spares.
    func streamFinished(handing stream: inout HTTP2UpstreamStream?) {
        guard let finished = stream.map({ Unmanaged.passUnretained($0) }) else { return }
        // Lent: `stream` holds the finished stream, which holds its slot, and nothing reassigns
        // it before `serveWaiters`.
        let slot = finished._withUnsafeGuaranteedRef { Unmanaged.passUnretained($0.slot) }
        slot._withUnsafeGuaranteedRef { slot in
            slot.assigned -= 1
            slot.served += 1
            if maxRequestsPerConnection > 0 && slot.served + slot.assigned >= maxRequestsPerConnection || retired {
                if slot.assigned == 0 { goAway(slot) } else { slot.goingAway = true }
            }
        }
        serveWaiters()
        // Kept after the waiters are served: none of them gets this object while the call that
        // finished it runs (before, the caller's reference made it look in use).
        // Taken straight into the append: bound to a local first, it was retained again.
        if spareStreams.count < Self.maxSpareStreams, stream != nil { spareStreams.append(stream.take()!) }
    }

    /// The index of the first slot with a stream to spare. Scanned by index: `first(where:)`
    /// retained and released the slot it returned.
    private func firstSlotWithFreeStream() -> Int? {
        var index = 0
        while index < slots.count {
            if Unmanaged.passUnretained(slots[index])._withUnsafeGuaranteedRef({ freeStreams(on: $0) }) > 0 { return index }
            index += 1
        }
        return nil
    }

    private func freeStreams(on slot: Slot) -> Int {
        guard !slot.goingAway, slot.client.isAcceptingStreams else { return 0 }
        var limit = slot.client.maxConcurrentStreams
        if maxStreamsPerConnection > 0 { limit = min(limit, maxStreamsPerConnection) }
        if maxRequestsPerConnection > 0 { limit = min(limit, maxRequestsPerConnection - slot.served) }
        return limit - slot.assigned
    }

    func assign(_ slot: Slot) -> HTTP2UpstreamStream {
        slot.assigned += 1
        var index = spareStreams.count - 1
        let oldestExamined = max(0, spareStreams.count - Self.maxSparesExamined)
        while index >= oldestExamined {
            if isKnownUniquelyReferenced(&spareStreams[index]) {
                spareStreams.swapAt(index, spareStreams.count - 1)
                let stream = spareStreams.removeLast()
                stream.reuse(slot: slot)
                return stream
            }
            index -= 1
        }
        return HTTP2UpstreamStream(slot: slot, pool: self)
    }

    private func serveWaiters() {
        while !waiters.isEmpty, let index = firstSlotWithFreeStream() {
            guard let waiter = waiters.popFirst() else { break }
            leavePending()
            waiter.poolDidProvide(assign(slots[index]))
        }
        openConnectionsForWaiters()
    }

    private func leavePending() {
        counters.pendingRequests -= 1
        limits?.releasePending()
    }

    private func goAway(_ slot: Slot) {
        slot.goingAway = true
        slot.client.close()
    }

    /// A new connection only while waiters outnumber the streams the connections being made
    /// will offer (the server's limit is unknown until its SETTINGS: assume nghttp2's 100).
    private func openConnectionsForWaiters() {
        let perConnection = maxStreamsPerConnection > 0 ? min(maxStreamsPerConnection, 100) : 100
        while waiters.count > connecting * perConnection && !retired {
            if let limits, !limits.tryAcquireConnection() { return }
            connect()
        }
    }

    private func connect() {
        connecting += 1
        openConnections += 1
        counters.connectionsOpened += 1
        let future = UpstreamBootstrap.connect(to: address, on: eventLoop, timeout: connectTimeout) { HTTP2ClientConnection() }
        future.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                // NIO completes the connect before it fires channelActive, and the codec takes
                // streams only once active: register the connection on the next tick.
                self.eventLoop.assumeIsolated().execute {
                    self.connecting -= 1
                    guard channel.isActive, let client = try? channel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self) else {
                        channel.close(promise: nil)
                        self.connectFailed(ChannelError.ioOnClosedChannel)
                        return
                    }
                    client.delegate = self
                    let slot = Slot(client: client, eventLoop: channel.eventLoop)
                    self.slots.append(slot)
                    if self.retired { self.goAway(slot) }
                    self.serveWaiters()
                }
            case .failure(let error):
                self.connecting -= 1
                self.connectFailed(error)
            }
        }
    }

    private func connectFailed(_ error: any Error) {
        openConnections -= 1
        counters.connectFailures += 1
        limits?.releaseConnection()
        // Requests no connection is on its way for learn of the failure (Envoy fails pending
        // requests once no connection can serve them).
        let perConnection = maxStreamsPerConnection > 0 ? min(maxStreamsPerConnection, 100) : 100
        let hasCapacity = slots.contains { freeStreams(on: $0) > 0 }
        while !hasCapacity, waiters.count > connecting * perConnection, let waiter = waiters.popFirst() {
            leavePending()
            waiter.poolDidFail(error)
        }
    }

    // MARK: HTTP2ClientConnectionDelegate

    func streamCapacityChanged(_ connection: HTTP2ClientConnection) {
        serveWaiters()
    }

    func goAwayReceived(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, connection: HTTP2ClientConnection) {
        slots.first { $0.client === connection }?.goingAway = true
        openConnectionsForWaiters()
    }

    func connectionClosed(_ connection: HTTP2ClientConnection) {
        spareStreams.removeAll { $0.slot.client === connection }
        guard let index = slots.firstIndex(where: { $0.client === connection }) else { return }
        slots.remove(at: index)
        openConnections -= 1
        limits?.releaseConnection()
        openConnectionsForWaiters()
    }
}
