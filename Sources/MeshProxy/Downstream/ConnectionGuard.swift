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
    private var timer: Scheduled<Void>?
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
        timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .idle {
            phase = .receivingHead
            arm(headerTimeout)
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a request head: no timer while the request is served.
    func requestHeadReceived() {
        phase = .busy
        timer?.cancel()
        timer = nil
    }

    /// The exchange ended and the connection stays open for the next request.
    func requestFinished() {
        phase = .idle
        arm(idleTimeout)
    }

    private func arm(_ amount: TimeAmount) {
        timer?.cancel()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: amount) { [weak self] in
            self?.fire()
        }
    }

    private func fire() {
        guard let context else { return }
        timer = nil
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
