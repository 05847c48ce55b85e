import NIOCore

/// First handler of a downstream connection, before the HTTP decoder: it sees raw bytes, so
/// it knows when a request begins. It closes a connection whose client takes longer than the
/// header timeout between a request's first byte and the end of its headers (answering 408,
/// as Envoy's `request_headers_timeout` does), and one that stays idle between requests past
/// the idle timeout. Timers run on the connection's own loop, so a slow client holds up no one.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        case idle
        case receivingHead
        case busy
    }

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let stats: WorkerStats
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

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount, stats: WorkerStats) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.stats = stats
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(idleTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        deadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .receivingHead
            arm(headerTimeout)
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a request head: no deadline while the request is served.
    func requestHeadReceived() {
        phase = .busy
        deadline = nil
    }

    /// The exchange ended and the connection stays open for the next request.
    func requestFinished() {
        phase = .idle
        arm(idleTimeout)
    }

    private func arm(_ amount: TimeAmount) {
        let now = NIODeadline.now()
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
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [weak self] in
            self?.timerFired()
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
        // Serving a request: the timer is set again when the connection goes idle.
        guard let deadline else { return }
        let now = NIODeadline.now()
        if now < deadline {
            schedule(at: min(deadline, now + headerTimeout))
            return
        }
        fire()
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
            buffer.writeString("HTTP/1.1 408 Request Timeout\r\ncontent-length: \(body.utf8.count)\r\ncontent-type: text/plain\r\nconnection: close\r\nserver: meshsim\r\n\r\n\(body)")
            context.writeAndFlush(NIOAny(buffer)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
