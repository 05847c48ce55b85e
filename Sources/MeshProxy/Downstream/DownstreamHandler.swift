import NIOCore
import NIOHTTP1

/// The HTTP/1.1 server side of one downstream connection: it turns decoded request parts into
/// `Exchange`s, one at a time. Pipelined requests wait in a small queue (they are only what
/// one socket read already brought; no further read happens while a request is in flight),
/// so responses go out in order without NIO's `HTTPServerPipelineHandler` and its extra
/// `epoll_ctl` calls. Reads from the socket happen only when the current exchange can take
/// more request body (backpressure towards the client).
final class DownstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Queued {
        case part(HTTPServerRequestPart)
        case protocolError(Error)
    }

    let worker: Worker
    private let connectionGuard: ConnectionGuard
    private(set) var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var queue = CircularBuffer<Queued>(initialCapacity: 2)
    private var readPending = false
    private var closing = false
    private var draining = false
    /// Where the client connects from, for `x-forwarded-for` and source-IP hashing.
    private(set) var remoteIP: String = ""

    init(worker: Worker, connectionGuard: ConnectionGuard) {
        self.worker = worker
        self.connectionGuard = connectionGuard
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        remoteIP = context.channel.remoteAddress?.ipAddress ?? ""
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if closing { return }
        if !queue.isEmpty || (exchange?.requestEnded ?? false) {
            queue.append(.part(part))
            return
        }
        deliver(part)
    }

    private func deliver(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head):
            connectionGuard.requestHeadReceived()
            worker.stats.downstream.activeRequests += 1
            let exchange = Exchange(worker: worker, downstream: self, head: head)
            self.exchange = exchange
            exchange.start()
        case .body(let buffer):
            exchange?.receiveBody(buffer)
        case .end:
            exchange?.receiveEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.downstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPParserError || error is ByteToMessageDecoderError {
            if exchange != nil {
                queue.append(.protocolError(error))
            } else {
                answerProtocolError(error)
            }
            return
        }
        // I/O errors: the connection is gone or unusable.
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.downstreamWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        queue.removeAll()
        if let exchange {
            self.exchange = nil
            worker.stats.downstream.activeRequests -= 1
            exchange.downstreamClosed()
        }
        context.fireChannelInactive()
    }

    // MARK: read control

    func read(context: ChannelHandlerContext) {
        if shouldRead {
            context.read()
        } else {
            readPending = true
        }
    }

    private var shouldRead: Bool {
        if closing { return false }
        guard let exchange else { return queue.isEmpty }
        return exchange.wantsRequestData
    }

    /// Called by the exchange when it can take request body again.
    func resumeReadingIfWanted() {
        guard readPending, shouldRead, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: outbound, used by the exchange

    func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    /// Bytes written but not yet taken by the socket.
    var queuedBytes: Int {
        guard let channel = context?.channel else { return 0 }
        return (try? channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    /// The exchange is over: its response is complete (or abandoned).
    func exchangeFinished(_ finished: Exchange, closeConnection: Bool) {
        guard exchange === finished else { return }
        exchange = nil
        worker.stats.downstream.activeRequests -= 1
        if closeConnection || closing {
            closeAfterWrites()
            return
        }
        connectionGuard.requestFinished()
        drainQueue()
        resumeReadingIfWanted()
    }

    /// Serves what was pipelined behind the finished request, until one request is in flight
    /// again. Re-entrant calls (an exchange finishing while being fed) leave the work to the
    /// outer call.
    private func drainQueue() {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        while !closing, let next = queue.first, exchange == nil || !(exchange?.requestEnded ?? true) {
            switch next {
            case .part(let part):
                queue.removeFirst()
                deliver(part)
            case .protocolError(let error):
                guard exchange == nil else { return }
                queue.removeFirst()
                answerProtocolError(error)
                return
            }
        }
    }

    private func answerProtocolError(_ error: Error) {
        guard let context, !closing else { return }
        worker.stats.downstream.protocolErrors += 1
        let status: Int
        if case .headerOverflow? = error as? HTTPParserError {
            status = 431
        } else {
            status = 400
        }
        let body = status == 431 ? "request header fields too large" : "bad request"
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "content-type", value: "text/plain")
        headers.add(name: "date", value: worker.date.current())
        headers.add(name: "server", value: "meshsim")
        headers.add(name: "connection", value: "close")
        var buffer = context.channel.allocator.buffer(capacity: 256)
        ResponseSerializer.writeHead(status: status, version: .http1_1, headers: headers, into: &buffer)
        buffer.writeString(body)
        write(buffer)
        closeAfterWrites()
    }

    /// Flushes what is written, then closes; the decoder may not be trusted with more input.
    func closeAfterWrites() {
        guard let context, !closing else { return }
        closing = true
        queue.removeAll()
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Closes at once (a response that cannot be completed).
    func abort() {
        guard let context else { return }
        closing = true
        context.close(promise: nil)
    }
}

