import MeshHTTP2
import NIOCore
import NIOHTTP1
import NIOPosix

/// The part of a run on one event loop: its connections, its recorder, a timeout sweep.
/// Confined to `eventLoop`; the coordinator talks to it only through `eventLoop.submit`.
final class LoopWorker {
    let eventLoop: any EventLoop
    let plan: RunPlan
    let recorder = LoopRecorder()
    private(set) var slots: [ConnectionSlot] = []
    /// No request goes out at or after this time (the send deadline, or an early stop).
    private(set) var stopAt: UInt64?
    private var finishedSlots = 0
    private(set) var finished = false
    private let onFinished: @Sendable () -> Void
    private var sweep: Scheduled<Void>?
    let sweepInterval: TimeAmount

    init(eventLoop: any EventLoop, plan: RunPlan, slotIndices: [Int], onFinished: @escaping @Sendable () -> Void) {
        self.eventLoop = eventLoop
        self.plan = plan
        self.stopAt = plan.sendDeadline
        self.onFinished = onFinished
        // Timeouts are checked by one sweep per loop rather than a timer per request.
        let tenth = Int64(plan.timeoutNanos / 10)
        self.sweepInterval = .nanoseconds(min(max(tenth, 1_000_000), 100_000_000))
        self.slots = slotIndices.map { ConnectionSlot(worker: self, index: $0) }
        if plan.http2Requests != nil {
            // HTTP/2: the lanes of one connection share one session.
            var sessions: [Int: HTTP2LoadSession] = [:]
            for slot in slots {
                let connection = slot.index / plan.streamsPerConnection
                let session = sessions[connection] ?? HTTP2LoadSession(worker: self)
                sessions[connection] = session
                session.members += 1
                slot.session = session
            }
        }
    }

    /// Closed loop: every lane takes its first request now, before any worker starts sending.
    /// The lanes share one dispenser, so a worker that starts late (its loop, or the coordinator,
    /// held up on a busy machine) would otherwise find the requests gone and never open its
    /// connections; this way every lane sends at least once when there are requests for all.
    func claimFirstRequests() {
        let now = uptimeNanos()
        for slot in slots { slot.claimFirstRequest(now: now) }
    }

    func start() {
        let now = uptimeNanos()
        for slot in slots { slot.begin(now: now) }
        if slots.isEmpty { markFinished() }
        scheduleSweep()
    }

    /// Ends the send window now (if it is not over already); requests in flight still finish.
    func stopIssuing() {
        let now = uptimeNanos()
        stopAt = min(stopAt ?? now, now)
        for slot in slots { slot.stopIfIdle(now: now) }
    }

    /// Gives up on requests still in flight (counted as timeouts) and closes every connection.
    func forceStop() {
        let now = uptimeNanos()
        stopAt = min(stopAt ?? now, now)
        for slot in slots { slot.abort(now: now) }
    }

    func slotFinished() {
        finishedSlots += 1
        if finishedSlots == slots.count { markFinished() }
    }

    private func markFinished() {
        guard !finished else { return }
        finished = true
        sweep?.cancel()
        sweep = nil
        onFinished()
    }

    private func scheduleSweep() {
        guard !finished else { return }
        sweep = eventLoop.assumeIsolated().scheduleTask(in: sweepInterval) { [self] in
            let now = uptimeNanos()
            for slot in slots { slot.checkTimeout(now: now) }
            scheduleSweep()
        }
    }
}

/// One connection's life in a run: claims the next request, (re)connects when needed, sends,
/// records the outcome, repeats until the send window closes or the requests run out.
final class ConnectionSlot {
    private struct Request {
        var classIndex: Int
        var measured: Bool
        /// Latency is measured from here: the send time (closed loop) or the intended send time (open loop).
        var latencyBase: UInt64
        var sentAt: UInt64?
    }

    // unowned(unsafe): the worker owns its slots and outlives them; a checked reference would
    // cost an atomic retain on every use in the hot path.
    private unowned(unsafe) let worker: LoopWorker
    private let recorder: LoopRecorder
    private let plan: RunPlan
    /// Global connection number, 0..<totalSlots.
    let index: Int
    /// Open loop: this connection's next sequence number (index, index + N, index + 2N, …).
    private var nextSequence: Int
    private var channel: (any Channel)?
    private var handler: ClientConnectionHandler?
    /// HTTP/2 runs: the connection this lane sends its streams on, and its current stream.
    var session: HTTP2LoadSession?
    private var stream: HTTP2StreamID?
    private var responseStatus = 0
    private var responseSubset: [UInt8]?
    private var connecting = false
    /// Bumped for every connection attempt, so a late answer from an abandoned one is ignored.
    private var generation = 0
    private var request: Request?
    /// An open-loop wait for the next intended time, or a back-off after a failed connect.
    private var timer: Scheduled<Void>?
    private(set) var done = false

    init(worker: LoopWorker, index: Int) {
        self.worker = worker
        self.recorder = worker.recorder
        self.plan = worker.plan
        self.index = index
        self.nextSequence = index
    }

    /// Takes the next request if this connection is free, and sends it (connecting first if needed).
    func pump(now: UInt64) {
        guard !done, request == nil, timer == nil else { return }
        if plan.openLoopPeriod != nil {
            let intended = plan.intendedTime(nextSequence)
            if let stop = worker.stopAt, intended >= stop || now >= stop {
                finish(now: now)
                return
            }
            if intended > now {
                timer = worker.eventLoop.assumeIsolated().scheduleTask(deadline: NIODeadline.uptimeNanoseconds(intended)) { [self] in
                    timer = nil
                    pump(now: uptimeNanos())
                }
                return
            }
            let measured = intended >= plan.measureStart
            guard let classIndex = plan.tickets.claim(measured: measured) else {
                finish(now: now)
                return
            }
            recorder.noteSent(measured: measured)
            request = Request(classIndex: classIndex, measured: measured, latencyBase: intended, sentAt: nil)
            nextSequence += plan.totalSlots
        } else {
            if let stop = worker.stopAt, now >= stop {
                finish(now: now)
                return
            }
            let measured = now >= plan.measureStart
            guard let classIndex = plan.tickets.claim(measured: measured) else {
                finish(now: now)
                return
            }
            recorder.noteSent(measured: measured)
            request = Request(classIndex: classIndex, measured: measured, latencyBase: now, sentAt: nil)
        }
        dispatch(now: now)
    }

    /// Closed loop, before the run starts: claims this lane's first request without sending it.
    func claimFirstRequest(now: UInt64) {
        guard plan.openLoopPeriod == nil, !done, request == nil else { return }
        let measured = now >= plan.measureStart
        guard let classIndex = plan.tickets.claim(measured: measured) else { return }
        recorder.noteSent(measured: measured)
        request = Request(classIndex: classIndex, measured: measured, latencyBase: now, sentAt: nil)
    }

    /// The run starts: sends the request claimed before it, or takes one.
    func begin(now: UInt64) {
        guard var claimed = request, claimed.sentAt == nil else {
            pump(now: now)
            return
        }
        // Its latency counts from now, not from the claim made while the workers were set up.
        claimed.latencyBase = now
        request = claimed
        dispatch(now: now)
    }

    /// Sends the claimed request: on the HTTP/2 session, on this lane's connection, or after connecting.
    private func dispatch(now: UInt64) {
        if let session {
            session.send(for: self)
        } else if handler != nil {
            send(now: now)
        } else if !connecting {
            connect()
        }
    }

    private func send(now: UInt64) {
        guard var pending = request, let handler else { return }
        pending.sentAt = now
        request = pending
        handler.send(plan.requests[pending.classIndex], expectsNoBody: plan.isHead[pending.classIndex])
    }

    private func connect() {
        connecting = true
        generation += 1
        let attempt = generation
        let newHandler = ClientConnectionHandler(slot: self, subsetHeader: plan.subsetHeader)
        let boundHandler = NIOLoopBound(newHandler, eventLoop: worker.eventLoop)
        ClientBootstrap(group: worker.eventLoop)
            .connectTimeout(plan.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(boundHandler.value)
                }
            }
            .connect(to: plan.address)
            .assumeIsolated()
            .whenComplete { [self] result in
                connected(result, attempt: attempt, handler: newHandler)
            }
    }

    private func connected(_ result: Result<any Channel, any Error>, attempt: Int, handler newHandler: ClientConnectionHandler) {
        guard attempt == generation, !done else {
            newHandler.abandon()
            if case .success(let stale) = result { stale.close(promise: nil) }
            return
        }
        connecting = false
        let now = uptimeNanos()
        switch result {
        case .success(let newChannel):
            channel = newChannel
            handler = newHandler
            if request != nil { send(now: now) } else { pump(now: now) }
        case .failure:
            newHandler.abandon()
            if let failed = request {
                recorder.recordError(classIndex: failed.classIndex, kind: .connect, measured: failed.measured)
                request = nil
            }
            // Back off briefly so a refusing server is not hammered in a tight loop.
            timer = worker.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(10)) { [self] in
                timer = nil
                pump(now: uptimeNanos())
            }
        }
    }

    func responseComplete(status: Int, subsetValue: [UInt8]?, keepAlive: Bool) {
        let now = uptimeNanos()
        guard let answered = request, answered.sentAt != nil else {
            connectionFailed(.protocol)  // a response nobody asked for
            return
        }
        let subset = subsetValue.map { recorder.subsetIndex(forHeaderValue: $0) } ?? -1
        recorder.recordResponse(
            classIndex: answered.classIndex, status: status, subset: subset,
            latencyNanos: now &- answered.latencyBase, measured: answered.measured)
        request = nil
        if !keepAlive { dropConnection() }
        pump(now: now)
    }

    /// The connection broke (or sent garbage): the request on it, if one was sent, failed.
    func connectionFailed(_ kind: ErrorKind) {
        let now = uptimeNanos()
        if let failed = request, failed.sentAt != nil {
            recorder.recordError(classIndex: failed.classIndex, kind: kind, measured: failed.measured)
            request = nil
        }
        dropConnection()
        if request != nil {
            // A claimed request not yet sent goes out on a new connection (HTTP/2: the session's).
            if let session { session.send(for: self) } else { connect() }
        } else {
            pump(now: now)
        }
    }

    func checkTimeout(now: UInt64) {
        guard let pending = request, let sentAt = pending.sentAt, now &- sentAt >= plan.timeoutNanos else { return }
        recorder.recordError(classIndex: pending.classIndex, kind: .timeout, measured: pending.measured)
        request = nil
        dropConnection()  // HTTP/1.1 cannot cancel one request: the connection goes
        pump(now: now)
    }

    /// Finishes now unless a request is in flight (then it finishes when that one ends).
    func stopIfIdle(now: UInt64) {
        guard !done, request == nil else { return }
        finish(now: now)
    }

    func abort(now: UInt64) {
        guard !done else { return }
        if let pending = request {
            recorder.recordError(classIndex: pending.classIndex, kind: pending.sentAt == nil ? .connect : .timeout, measured: pending.measured)
            request = nil
        }
        finish(now: now)
    }

    private func dropConnection() {
        if let session {
            // HTTP/2 cancels the one stream; the shared connection stays.
            if let stream {
                self.stream = nil
                session.cancel(stream)
            }
            return
        }
        handler?.abandon()
        handler = nil
        channel?.close(promise: nil)
        channel = nil
        if connecting {
            generation += 1  // ignore the attempt under way
            connecting = false
        }
    }

    private func finish(now: UInt64) {
        guard !done else { return }
        done = true
        timer?.cancel()
        timer = nil
        recorder.noteBacklog(openLoopBacklog())
        dropConnection()
        session?.memberFinished()
        worker.slotFinished()
    }

    /// Open loop: intended sends of this connection inside the measured window that never went out.
    private func openLoopBacklog() -> Int {
        guard let period = plan.openLoopPeriod, period > 0, let stop = worker.stopAt, stop > plan.runStart else { return 0 }
        let stride = plan.totalSlots
        // Sequence numbers due before the stop, and the first one in the measured phase.
        let endSequence = Int((Double(stop - plan.runStart) / period).rounded(.up))
        let measuredStart = Int((Double(plan.measureStart &- plan.runStart) / period).rounded(.up))
        var first = nextSequence
        if first < measuredStart {
            first += (measuredStart - first + stride - 1) / stride * stride
        }
        guard first < endSequence else { return 0 }
        return (endSequence - first + stride - 1) / stride
    }
}

// MARK: HTTP/2 lanes

extension ConnectionSlot: HTTP2ClientStreamDelegate {
    /// Sends the claimed request as a stream on `client` (the session is connected).
    func sendStream(on client: HTTP2ClientConnection, request: HTTP2LoadRequest) throws {
        let id = try client.openStream(request.head, endStream: request.body == nil, delegate: self)
        if let body = request.body { try client.sendBody(body, stream: id, endStream: true) }
        stream = id
        responseStatus = 0
        responseSubset = nil
    }

    /// The claimed request, if it was not sent yet, with what to send.
    var unsentRequest: HTTP2LoadRequest? {
        guard let pending = request, pending.sentAt == nil else { return nil }
        return plan.http2Requests?[pending.classIndex]
    }

    func markSent(now: UInt64) {
        request?.sentAt = now
    }

    /// The session could not connect: the claimed request fails as a connect error, and the lane
    /// backs off before trying again.
    func sessionConnectFailed() {
        if let failed = request {
            recorder.recordError(classIndex: failed.classIndex, kind: .connect, measured: failed.measured)
            request = nil
        }
        timer = worker.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(10)) { [self] in
            timer = nil
            pump(now: uptimeNanos())
        }
    }

    func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        guard stream == self.stream else { return }
        responseStatus = head.status
        responseSubset = head.headers.first(name: plan.subsetHeader).map { Array($0.utf8) }
        // A trailers-only answer carries the call's status in its head.
        if plan.grpc, let code = GRPCOutcome.code(head.headers.first(name: "grpc-status")) {
            responseStatus = GRPCOutcome.status(forCode: code)
        }
        if endStream { streamCompleted() }
    }

    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
    }

    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        guard stream == self.stream else { return }
        if plan.grpc, let code = GRPCOutcome.code(trailers?.first(name: "grpc-status")) {
            responseStatus = GRPCOutcome.status(forCode: code)
        }
        streamCompleted()
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        guard stream == self.stream else { return }
        self.stream = nil
        connectionFailed(reset.origin == .connectionClosed ? .closed : .reset)
    }

    private func streamCompleted() {
        stream = nil
        responseComplete(status: responseStatus, subsetValue: responseSubset, keepAlive: true)
    }
}
