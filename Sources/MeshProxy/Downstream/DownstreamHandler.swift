import MeshHTTP2
import NIOCore
import NIOHTTP1

/// The whole pipeline of one downstream connection: it reads the raw bytes, picks the protocol
/// from the first of them (the HTTP/2 client preface hands the connection to the HTTP/2 codec),
/// decodes HTTP/1.1 requests itself (`HTTP1RequestParser`) and turns each into an `Exchange`, one
/// at a time. One handler rather than sniffer, timeout guard, decoder and application handlers:
/// each pipeline step costs a dynamic call and a wrapped message per read.
///
/// Pipelined requests simply stay in the input buffer until the exchange before them finished
/// (reading stops while it holds any), so responses go out in order without NIO's
/// `HTTPServerPipelineHandler` and its extra `epoll_ctl` calls. While a request's body is
/// arriving, the socket is read only when the exchange can take more of it (backpressure towards
/// the client).
final class DownstreamHandler: ChannelDuplexHandler, RemovableChannelHandler, ExchangeDownstream {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Mode {
        /// Too few bytes yet to tell HTTP/2's client preface from an HTTP/1.1 request.
        case sniffing
        case http1
        /// Handed to the HTTP/2 codec (prior knowledge or `Upgrade: h2c`): leaving the pipeline.
        case handedOver
    }

    /// HTTP/2's client preface (RFC 9113 §3.4).
    private static let preface: StaticString = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    let worker: Worker
    private let connectionGuard: ConnectionGuard
    /// The worker's: a request starts at the time of the socket read its head came in.
    private let readClock: LoopReadClock
    private let http2Configuration: HTTP2Configuration
    private(set) var context: ChannelHandlerContext?
    private(set) var allocator = ByteBufferAllocator()
    private var mode = Mode.sniffing
    // Touched on every read; only this loop touches them and no access to one spans a call that
    // could reach it again, so the runtime's exclusivity checks are left out.
    @exclusivity(unchecked) private var parser: HTTP1RequestParser
    /// Bytes read and not decoded yet: the rest of the current request, or pipelined ones.
    @exclusivity(unchecked) private var input = ByteBuffer()
    @exclusivity(unchecked) private var exchange: Exchange?
    private var readPending = false
    /// The channel's writability as its last writability event (or its activation) left it:
    /// NIO raises the event in the same call that flips it. Read for every response body, where
    /// asking the channel costs two dynamic calls and a retain.
    private var channelWritable = true
    private var closing = false
    /// The input was malformed while an exchange was in flight: nothing more is decoded, and
    /// the connection closes when that exchange ends.
    private var inputFailed = false
    /// Set while `decodeInput` runs, so a re-entrant call (an exchange finishing while fed)
    /// leaves the work to the outer loop.
    private var decoding = false
    /// Response bytes waiting for the next flush (see `OutboundGatherer`); the next response head
    /// is written into the storage of the last buffer sent, unless that grew large (a connection
    /// keeps at most that much while idle).
    @exclusivity(unchecked) private var output = OutboundGatherer(recycles: true, recycledCapacityLimit: 4096)
    /// Where the client connects from, for `x-forwarded-for` and source-IP hashing.
    private(set) var remoteIP: String = ""
    /// Bytes the parser took for the current request (its head, body and framing) and bytes
    /// written for its response; both start again with each request head.
    private var requestWireBytes = 0
    private var responseWireBytes = 0
    /// Bytes the parser took since its last event (a head that arrives in pieces).
    private var consumedSinceEvent = 0

    init(worker: Worker, limits: ProxyConfiguration.Limits, http2Configuration: HTTP2Configuration = .default) {
        self.worker = worker
        self.connectionGuard = ConnectionGuard(
            headerTimeout: limits.requestHeaderTimeout, idleTimeout: limits.idleTimeout,
            streamIdleTimeout: limits.streamIdleTimeout, stats: worker.stats, readClock: worker.readClock)
        self.parser = HTTP1RequestParser(
            limits: HTTP1Limits(maxBytes: limits.maxRequestHeaderBytes, maxFields: limits.maxRequestHeaderCount))
        self.http2Configuration = http2Configuration
        self.readClock = worker.readClock
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        connectionGuard.onStreamIdle = { [unowned self] in self.streamIdleTimedOut() }
        allocator = context.channel.allocator
        remoteIP = context.channel.remoteAddress?.ipAddress ?? ""
        channelWritable = context.channel.isWritable
        if context.channel.isActive { connectionGuard.start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionGuard.stop()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        remoteIP = context.channel.remoteAddress?.ipAddress ?? ""
        channelWritable = context.channel.isWritable
        connectionGuard.start(context: context)
        context.fireChannelActive()
    }

    var isWritable: Bool { context != nil && channelWritable }
    var wireBytes: (received: Int, sent: Int)? { (requestWireBytes, responseWireBytes) }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Closing, or the input already failed to decode: nothing more is read into it.
        guard !closing, !inputFailed else { return }
        connectionGuard.noteActivity()
        var incoming = unwrapInboundIn(data)
        if input.readableBytes == 0 {
            input = incoming
        } else {
            input.writeBuffer(&incoming)
        }
        readClock.beginRead()
        defer { readClock.endRead() }
        switch mode {
        case .http1:
            decodeInput()
        case .sniffing:
            sniff(context: context)
        case .handedOver:
            return
        }
        // Bytes left over begin a request whose head must now complete in time (a head decoded
        // whole in this read never needed the header timeout, nor a look at the clock).
        if input.readableBytes > 0 { connectionGuard.bytesArrived() }
    }

    /// The first byte that differs from HTTP/2's preface means HTTP/1.1; the whole preface
    /// means HTTP/2 with prior knowledge.
    private func sniff(context: ChannelHandlerContext) {
        let count = min(input.readableBytes, Self.preface.utf8CodeUnitCount)
        let matches = input.withUnsafeReadableBytes { bytes in
            (0..<count).allSatisfy { bytes[$0] == Self.preface.utf8Start[$0] }
        }
        if !matches {
            mode = .http1
            decodeInput()
        } else if count == Self.preface.utf8CodeUnitCount {
            // HTTP/2 has its own per-stream idle timeout; these per-request timers do not apply.
            let connection = HTTP2ServerConnection(
                configuration: http2Configuration, delegate: HTTP2DownstreamConnection(worker: worker, remoteIP: remoteIP))
            handOver(to: connection, context: context)
        }
    }

    /// Decodes and delivers requests until the input runs out, the current request has been read
    /// whole (the next one waits for its response), or the connection is closing.
    private func decodeInput() {
        guard !decoding else { return }
        decoding = true
        defer { decoding = false }
        while !closing, !inputFailed, mode == .http1 {
            if let exchange, exchange.requestEnded { return }
            let event: HTTP1RequestParser.Event?
            let before = input.readableBytes
            do {
                event = try parser.next(&input)
            } catch {
                refuse(error as? HTTP1ParseError ?? .invalidRequestLine)
                return
            }
            consumedSinceEvent += before - input.readableBytes
            guard let event else { return }
            if case .head = event {
                requestWireBytes = 0
                responseWireBytes = 0
            }
            requestWireBytes += consumedSinceEvent
            consumedSinceEvent = 0
            deliver(event)
        }
    }

    private func deliver(_ event: HTTP1RequestParser.Event) {
        switch event {
        case .head(let head):
            connectionGuard.requestHeadReceived()
            if head.version == .http1_0 && !worker.configuration.acceptHTTP10 {
                // No exchange was started: the connection closes after the answer.
                inputFailed = true
                answerProtocolError(.upgradeRequired)
                return
            }
            if Self.asksForH2C(head) {
                switchToHTTP2(head)
                return
            }
            worker.stats.downstream.activeRequests += 1
            let exchange = Exchange(worker: worker, downstream: self, head: head, startTime: readClock.now())
            self.exchange = exchange
            // A WebSocket upgrade: what follows the head is the tunnel's, however the exchange ends.
            if exchange.requestFraming == .tunnel { parser.readRestAsTunnel() }
            exchange.start()
        case .body(let buffer):
            exchange?.receiveBody(buffer)
        case .end(let trailers):
            exchange?.receiveEnd(trailers: trailers)
        }
    }

    /// A malformed request: answered with 400 (431 for a head over the limits). When its head was
    /// already taken (a bad chunk in the body), the exchange in flight answers instead, as Envoy's
    /// codec error does; the connection closes either way.
    private func refuse(_ error: HTTP1ParseError) {
        if let exchange {
            inputFailed = true
            worker.stats.downstream.protocolErrors += 1
            exchange.downstreamProtocolError()
        } else {
            answerProtocolError(error)
        }
    }

    /// The request in flight moved no bytes for the stream idle timeout: answered 408 if its
    /// response had not begun, else the connection is cut (Envoy resets the stream).
    private func streamIdleTimedOut() {
        guard let exchange, let context else { return }
        if !exchange.streamIdleTimedOut() {
            closing = true
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Not passed on: this is the last handler, and the pipeline's tail does nothing with it.
        exchange?.downstreamReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // I/O errors: the connection is gone or unusable.
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        channelWritable = context.channel.isWritable
        exchange?.downstreamWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        connectionGuard.stop()
        input = ByteBuffer()
        output.discard()
        if let exchange {
            self.exchange = nil
            worker.stats.downstream.activeRequests -= 1
            exchange.downstreamClosed()
        }
        context.fireChannelInactive()
    }

    // MARK: HTTP/2 (prior knowledge, or h2c upgrade per RFC 7540 §3.2)

    /// `Upgrade: h2c` with one HTTP2-Settings and no body (a body would have to be read as
    /// HTTP/1.1 before switching; such requests are served over HTTP/1.1, as nghttpx does).
    static func asksForH2C(_ head: DownstreamRequestHead) -> Bool {
        // Upgrades are rare: the fields become strings only for a request that names one.
        guard head.version == .http1_1, head.contains(.upgrade) else { return false }
        let headers = head.fields.httpHeaders
        guard headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "h2c" }),
              headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "http2-settings" }),
              headers["http2-settings"].count == 1,
              !headers.contains(name: "transfer-encoding")
        else { return false }
        let length = headers.first(name: "content-length") ?? "0"
        return length == "0"
    }

    /// Answers 101 and hands the connection to the HTTP/2 codec, where the upgrading request is
    /// stream 1. Bytes read past the request (the client preface) follow it there.
    private func switchToHTTP2(_ head: DownstreamRequestHead) {
        guard let context else { return }
        let connection: HTTP2ServerConnection
        do {
            connection = try HTTP2ServerConnection(
                configuration: http2Configuration,
                delegate: HTTP2DownstreamConnection(worker: worker, remoteIP: remoteIP),
                upgradeRequest: HTTPRequestHead(version: head.version, method: head.method, uri: head.uri, headers: head.fields.httpHeaders))
        } catch {
            answerProtocolError(.invalidRequestLine)
            return
        }
        var switching = allocator.buffer(capacity: 96)
        switching.writeStaticString("HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n")
        write(switching)
        flush()
        handOver(to: connection, context: context)
    }

    /// Installs the HTTP/2 codec after this handler, which then leaves, passing on what it read.
    private func handOver(to connection: HTTP2ServerConnection, context: ChannelHandlerContext) {
        mode = .handedOver
        connectionGuard.stop()
        do {
            try context.pipeline.syncOperations.addHandler(connection, position: .after(self))
            worker.markHTTP2(context.channel)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            closing = true
            context.close(promise: nil)
        }
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if mode == .handedOver, input.readableBytes > 0 {
            let rest = input
            input = ByteBuffer()
            context.fireChannelRead(wrapInboundOut(rest))
            context.fireChannelReadComplete()
        }
        context.leavePipeline(removalToken: removalToken)
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
        if closing || inputFailed { return false }
        guard let exchange else { return true }
        // Once the request is read whole, keep reading until something arrives (a pipelined
        // request, or the client closing): the input then holds at most one socket read, and
        // the socket's read interest stays registered instead of costing two `epoll_ctl` calls
        // per request.
        if exchange.requestEnded { return input.readableBytes == 0 }
        return exchange.wantsRequestData
    }

    /// Called by the exchange when it can take request body again.
    func resumeReadingIfWanted() {
        guard readPending, shouldRead, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: outbound, used by the exchange

    func headBuffer(capacity: Int) -> ByteBuffer {
        output.buffer(capacity: capacity, allocator: allocator)
    }

    func write(_ buffer: ByteBuffer) {
        guard let context else { return }
        connectionGuard.noteActivity()
        responseWireBytes += buffer.readableBytes
        output.write(buffer, promise: nil, context: context)
    }

    func flush() {
        guard let context else { return }
        output.flush(context)
    }

    /// Bytes written but not yet taken by the socket.
    var queuedBytes: Int {
        guard let channel = context?.channel else { return 0 }
        return ((try? channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0) + output.gatheredBytes
    }

    /// The exchange is over: its response is complete (or abandoned).
    func exchangeFinished(_ finished: Exchange, closeConnection: Bool) {
        guard exchange === finished else { return }
        exchange = nil
        worker.stats.downstream.activeRequests -= 1
        if closeConnection || closing || inputFailed {
            closeAfterWrites()
            return
        }
        connectionGuard.requestFinished()
        // A pipelined request already (partly) here has begun: its head must complete in time.
        if input.readableBytes > 0 { connectionGuard.bytesArrived() }
        decodeInput()
        resumeReadingIfWanted()
    }

    private func answerProtocolError(_ error: HTTP1ParseError) {
        guard let context, !closing else { return }
        worker.stats.downstream.protocolErrors += 1
        let status = error.responseStatus
        // Envoy answers a codec error with the status's reason phrase as the body.
        let body = HTTPResponseStatus(statusCode: status).reasonPhrase
        var headers = HeaderFields()
        headers.append(name: "content-length", value: String(body.utf8.count))
        headers.append(name: "content-type", value: "text/plain")
        headers.append(name: "date", value: worker.date.current())
        headers.append(name: "server", value: ServerHeader.value)
        headers.append(name: "connection", value: "close")
        var buffer = context.channel.allocator.buffer(capacity: 256)
        ResponseSerializer.writeHead(status: status, version: .http1_1, fields: headers, into: &buffer)
        buffer.writeString(body)
        write(buffer)
        closeAfterWrites()
    }

    /// Flushes what is written, then closes; the input may not be trusted with more requests.
    func closeAfterWrites() {
        guard let context, !closing else { return }
        closing = true
        input = ByteBuffer()
        output.handOn(context)
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
        output.discard()
        context.close(promise: nil)
    }
}
