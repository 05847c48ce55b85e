import MeshHTTP2
import NIOCore
import NIOHTTP1

/// The HTTP/1.1 server side of one downstream connection: it turns decoded request parts into
/// `Exchange`s, one at a time. Pipelined requests wait in a small queue (at most what one
/// socket read brought; reading stops while it holds anything), so responses go out in order
/// without NIO's `HTTPServerPipelineHandler` and its extra `epoll_ctl` calls. While a request's
/// body is arriving, the socket is read only when the exchange can take more of it
/// (backpressure towards the client).
final class DownstreamHandler: ChannelDuplexHandler, RemovableChannelHandler, ExchangeDownstream {
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

    /// The request decoder before this handler, removed when the connection upgrades to h2c.
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>?
    private let http2Configuration: HTTP2Configuration
    /// An `Upgrade: h2c` request whose end is awaited before switching protocols.
    private var upgradeRequest: HTTPRequestHead?

    init(worker: Worker, connectionGuard: ConnectionGuard, decoder: ByteToMessageHandler<HTTPRequestDecoder>? = nil,
         http2Configuration: HTTP2Configuration = .default) {
        self.worker = worker
        self.connectionGuard = connectionGuard
        self.decoder = decoder
        self.http2Configuration = http2Configuration
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        remoteIP = context.channel.remoteAddress?.ipAddress ?? ""
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }
    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }
    var http2: HTTP2DownstreamStream? { nil }

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
        if let upgrade = upgradeRequest {
            if case .end = part { switchToHTTP2(upgrade) }
            return
        }
        switch part {
        case .head(let head):
            if decoder != nil, exchange == nil, queue.isEmpty, Self.asksForH2C(head) {
                connectionGuard.requestHeadReceived()
                upgradeRequest = head
                return
            }
            connectionGuard.requestHeadReceived()
            worker.stats.downstream.activeRequests += 1
            let exchange = Exchange(worker: worker, downstream: self, head: head)
            self.exchange = exchange
            exchange.start()
        case .body(let buffer):
            exchange?.receiveBody(buffer)
        case .end(let trailers):
            exchange?.receiveEnd(trailers: trailers)
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

    // MARK: h2c upgrade (RFC 7540 §3.2)

    /// `Upgrade: h2c` with one HTTP2-Settings and no body (a body would have to be read as
    /// HTTP/1.1 before switching; such requests are served over HTTP/1.1, as nghttpx does).
    static func asksForH2C(_ head: HTTPRequestHead) -> Bool {
        guard head.version == .http1_1,
              head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "h2c" }),
              head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "http2-settings" }),
              head.headers["http2-settings"].count == 1,
              !head.headers.contains(name: "transfer-encoding")
        else { return false }
        let length = head.headers.first(name: "content-length") ?? "0"
        return length == "0"
    }

    /// Answers 101 and hands the connection to the HTTP/2 codec, where the upgrading request is
    /// stream 1. Bytes the decoder read past the request (the client preface) follow it there.
    private func switchToHTTP2(_ request: HTTPRequestHead) {
        upgradeRequest = nil
        guard let context, let decoder else { return }
        let connection: HTTP2ServerConnection
        do {
            connection = try HTTP2ServerConnection(
                configuration: http2Configuration,
                delegate: HTTP2DownstreamConnection(worker: worker, remoteIP: remoteIP),
                upgradeRequest: request)
        } catch {
            answerProtocolError(error)
            return
        }
        closing = true
        var switching = context.channel.allocator.buffer(capacity: 96)
        switching.writeStaticString("HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n")
        context.writeAndFlush(wrapOutboundOut(switching), promise: nil)
        do {
            let pipeline = context.pipeline.syncOperations
            pipeline.removeHandler(context: context, promise: nil)
            try pipeline.addHandler(connection, position: .after(decoder))
            worker.markHTTP2(context.channel)
            pipeline.removeHandler(decoder, promise: nil)
        } catch {
            context.close(promise: nil)
        }
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
        // Once the request is read whole, keep reading until something arrives (a pipelined
        // request, or the client closing): the queue then holds at most one socket read, and
        // the socket's read interest stays registered instead of costing two `epoll_ctl` calls
        // per request.
        if exchange.requestEnded { return queue.isEmpty }
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

