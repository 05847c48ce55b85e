import NIOCore

/// The timeouts of one downstream connection, driven by its `DownstreamHandler` (which sees the
/// raw bytes, so it knows when a request begins). It closes a connection whose client takes
/// longer than the header timeout between a request's first byte and the end of its headers
/// (answering 408, as Envoy's `request_headers_timeout` does), and one that stays idle between
/// requests past the idle timeout. Timers run on the connection's own loop, so a slow client holds
/// up no one. Not a channel handler: the bytes need not pass through one more pipeline step.
final class ConnectionGuard {
    private enum Phase {
        case idle
        case receivingHead
        case busy
    }

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let streamIdleTimeout: TimeAmount?
    private let stats: WorkerStats
    /// The worker's: arming reads the time of the socket read being handled (the request's,
    /// or the upstream's that ended the response).
    private let readClock: LoopReadClock
    /// Bytes moved either way since the last look; set on every read and write (a plain store),
    /// looked at only when the connection's timer fires while a request is served.
    private var sawActivity = false
    /// Since when a served request has moved no bytes, as far as the timer's looks can tell.
    private var quietSince = NIODeadline.uptimeNanoseconds(0)
    /// Called when a served request's stream stayed quiet past `streamIdleTimeout`.
    var onStreamIdle: (() -> Void)?
    private var phase = Phase.idle
    /// When the current phase times out; nil while a request is served.
    private var deadline: NIODeadline?
    /// One timer per connection, re-armed lazily: a request only moves `deadline`. The timer
    /// never fires later than `headerTimeout` from when it was set, so a phase whose deadline
    /// is nearer than the timer's is still caught in time (it re-checks and re-arms for the
    /// rest). Scheduling and cancelling a NIO timer per request cost more than the proxying.
    private var timer: Scheduled<Void>?
    private var timerFiresAt: NIODeadline?
    private var context: ChannelHandlerContext?

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount, streamIdleTimeout: TimeAmount?, stats: WorkerStats, readClock: LoopReadClock) {
        self.readClock = readClock
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.streamIdleTimeout = streamIdleTimeout
        self.stats = stats
    }

    /// The connection is open: the idle timeout runs until its first byte.
    func start(context: ChannelHandlerContext) {
        self.context = context
        phase = .idle
        arm(idleTimeout)
    }

    /// No more timeouts (the connection closed, or HTTP/2 with its own took over).
    func stop() {
        cancelTimer()
        deadline = nil
        phase = .busy
        context = nil
        // A timer already due in this loop tick runs despite the cancel; it must not call back
        // into a handler that may be gone by then.
        onStreamIdle = nil
    }

    /// Bytes arrived: between requests, they begin one, and its head must complete in time.
    @inline(__always)
    func bytesArrived() {
        if phase == .idle {
            phase = .receivingHead
            arm(headerTimeout)
        }
    }

    /// Bytes were read or written on the connection.
    @inline(__always)
    func noteActivity() {
        sawActivity = true
    }

    /// The request head is complete: while the request is served, only the stream idle timeout
    /// applies, checked when the timer (still armed from the head's phase) fires.
    func requestHeadReceived() {
        phase = .busy
        deadline = nil
        sawActivity = true
        // The timer looks again at most `headerTimeout` from when it was set; a stream idle
        // timeout shorter than that (not Envoy's defaults) needs an earlier look.
        if let streamIdleTimeout, streamIdleTimeout < headerTimeout {
            let look = readClock.now() + streamIdleTimeout
            if timerFiresAt.map({ $0 > look }) ?? true { schedule(at: look) }
        }
    }

    /// The exchange ended and the connection stays open for the next request.
    func requestFinished() {
        phase = .idle
        arm(idleTimeout)
    }

    private func arm(_ amount: TimeAmount) {
        let now = readClock.now()
        let newDeadline = now + amount
        deadline = newDeadline
        // A timer that fires by the new deadline will look again then.
        if let firesAt = timerFiresAt, firesAt <= newDeadline { return }
        schedule(at: min(newDeadline, now + headerTimeout))
    }

    private func schedule(at when: NIODeadline) {
        timer?.cancel()
        guard let context else { return }
        timerFiresAt = when
        // Held strongly by the timer (a weak capture would give the guard a side table, making
        // every retain of it slow); `stop()` cancels the timer when the connection goes.
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [self] in
            timerFired()
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerFiresAt = nil
    }

    private func timerFired() {
        timer = nil
        timerFiresAt = nil
        if phase == .busy {
            checkStreamIdle()
            return
        }
        guard let deadline else { return }
        let now = NIODeadline.now()
        if now < deadline {
            schedule(at: min(deadline, now + headerTimeout))
            return
        }
        fire()
    }

    /// A served request: ends it if it moved no bytes for the stream idle timeout, else looks
    /// again. The quiet time is counted from the first look that saw no activity since the one
    /// before, so a request is never cut early, and late by at most one look's interval.
    private func checkStreamIdle() {
        guard let streamIdleTimeout, context != nil else { return }
        let now = NIODeadline.now()
        if sawActivity {
            sawActivity = false
            quietSince = now
        }
        let quiet = now - quietSince
        if quiet >= streamIdleTimeout {
            onStreamIdle?()
            return
        }
        schedule(at: now + min(headerTimeout, streamIdleTimeout - quiet))
    }

    private func fire() {
        guard let context else { return }
        switch phase {
        case .busy:
            return
        case .idle:
            context.close(promise: nil)
        case .receivingHead:
            stats.downstream.headerTimeouts += 1
            let body = "request header timeout"
            var buffer = context.channel.allocator.buffer(capacity: 160)
            buffer.writeString("HTTP/1.1 408 Request Timeout\r\ncontent-length: \(body.utf8.count)\r\ncontent-type: text/plain\r\nconnection: close\r\nserver: \(ServerHeader.value)\r\n\r\n\(body)")
            context.writeAndFlush(NIOAny(buffer)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
