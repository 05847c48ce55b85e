import MeshHTTP2
import NIOCore
import NIOHTTP1


/// What an upstream connection reports to the request it currently serves.
protocol UpstreamConnectionDelegate: AnyObject {
    /// Consumed: the receiver edits the fields in place (it holds the only reference).
    func upstreamResponseHead(_ head: consuming UpstreamResponseHead)
    func upstreamResponseBody(_ buffer: ByteBuffer)
    func upstreamResponseEnd(trailers: HTTPHeaders?)
    func upstreamReadComplete()
    func upstreamWritabilityChanged()
    /// The connection closed or failed before the response ended.
    func upstreamFailed(_ reason: UpstreamFailure)
}

enum UpstreamFailure: Sendable, Equatable {
    /// The peer closed the connection (EOF).
    case connectionTermination
    /// The peer reset the connection (ECONNRESET) or the socket failed.
    case remoteReset
    /// An h2c pod reset the request's stream (RST_STREAM); `refused`: with REFUSED_STREAM.
    /// Envoy's `RemoteReset` / `RemoteRefusedStreamReset`.
    case streamReset(refused: Bool)
    /// The response could not be parsed.
    case protocolError

    /// Envoy's `resetReasonToString` for the reason, as the 503 body names it.
    var resetReason: String {
        switch self {
        case .connectionTermination, .remoteReset: return "connection termination"
        case .streamReset(let refused): return refused ? "remote refused stream reset" : "remote reset"
        case .protocolError: return "protocol error"
        }
    }

    /// Envoy's `streamResetReasonToResponseFlag`.
    var responseFlag: ResponseFlags {
        switch self {
        case .connectionTermination: return .upstreamConnectionTermination
        case .remoteReset, .streamReset: return .upstreamRemoteReset
        case .protocolError: return .upstreamProtocolError
        }
    }

    /// The router's status for a reset before the response: 502 for a protocol error, else 503.
    var status: Int { self == .protocolError ? 502 : 503 }
}

/// What an exchange sends its request on: a pooled HTTP/1.1 connection (`UpstreamConnection`)
/// or a stream on a shared h2c connection (`HTTP2UpstreamStream`). Request parts are HTTP/1
/// shaped; an HTTP/2 transport converts them.
protocol UpstreamTransport: AnyObject {
    var delegate: UpstreamConnectionDelegate? { get set }
    /// Whether more request body may be written now.
    var isWritable: Bool { get }
    /// Whether a failure before any response may be retried without spending the retry budget
    /// (a stale keep-alive connection, a stream the server refused unprocessed).
    var wasReused: Bool { get }
    /// Whether any part of the current response arrived.
    var receivedResponse: Bool { get }
    func beginRequest()
    func write(_ part: UpstreamRequestPart, promise: EventLoopPromise<Void>?)
    func flush()
    /// Stop / resume taking response bytes (the downstream cannot take more).
    func holdReads()
    func resumeReads()
    /// The response ended: hand the transport back; `reusable` says whether its framing allows another.
    /// Consuming: the caller's reference goes with it (an h2c stream moves it into its pool's spares).
    consuming func release(reusable: Bool)
    /// Abandoned mid-exchange: an HTTP/1.1 connection closes, an HTTP/2 stream is reset (CANCEL).
    func close()
    /// This transport as an HTTP/1.1 connection, which takes a request head as bytes
    /// (`UpstreamConnection.writeHead`); nil for an HTTP/2 stream. Unmanaged: lent to a caller
    /// that holds the transport for the call (an owned reference cost a retain and a release).
    var lentHTTP1: Unmanaged<UpstreamConnection>? { get }
    /// This transport as an h2c stream not yet opened, which can open with a complete request
    /// written straight into its header block (`HTTP2UpstreamStream.writeCompleteRequest`);
    /// lent as `lentHTTP1` is.
    var lentHTTP2: Unmanaged<HTTP2UpstreamStream>? { get }
    /// The fields of the response head, done with (forwarded): the transport may keep their
    /// storage for the next head.
    func reuseResponseFields(_ fields: consuming HeaderFields)
    /// The time of the response event being handled (an h2c stream: as its connection read the
    /// clock for the socket read it came in; by default, the clock now).
    var eventTime: NIODeadline { get }
}

extension UpstreamTransport {
    var lentHTTP1: Unmanaged<UpstreamConnection>? { nil }
    var lentHTTP2: Unmanaged<HTTP2UpstreamStream>? { nil }
    func reuseResponseFields(_ fields: consuming HeaderFields) {}
    var eventTime: NIODeadline { .now() }
}

/// One keep-alive HTTP/1.1 connection to an endpoint, owned by this event loop's pool. It is
/// the only handler of its pipeline: it writes the exchange's request parts as bytes
/// (`HTTP1RequestWriter`) and decodes the response bytes itself (`HTTP1ResponseParser`), handing
/// the parts to whichever request holds the connection. It holds reads while the downstream
/// cannot take more (backpressure).
final class UpstreamConnection: ChannelDuplexHandler, RemovableChannelHandler, UpstreamTransport, LendsUpstreamDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private(set) var context: ChannelHandlerContext?
    /// `context`, lent to the request path's writes and flushes without a retain: the pipeline
    /// holds the context while this handler is in it (`handlerAdded` to `handlerRemoved`, which set
    /// and clear both). Bound from the optional, it was retained and released per call.
    private var lentContext: Unmanaged<ChannelHandlerContext>?
    /// Strong: a pool retired by a config swap must outlive its connections still in use.
    /// The cycle ends when the connection closes (`connectionClosed` clears it).
    var pool: EndpointPool?
    /// The request using the connection; nil while idle in the pool.
    var delegate: UpstreamConnectionDelegate? {
        get { delegates.current }
        set { delegates.set(newValue) }
    }
    /// The delegate, lent to the response callbacks without a retain (`callDelegate`).
    @exclusivity(unchecked) var delegates = UpstreamDelegateHolder()
    var requestsServed = 0
    private(set) var isOpen = true
    /// Whether the connection was used before, so a failure on it may be a stale keep-alive.
    var wasReused: Bool { requestsServed > 0 }
    private var readsHeld = false
    private var readPending = false
    private var failure: UpstreamFailure = .connectionTermination
    /// Whether any part of the current response arrived.
    private(set) var receivedResponse = false
    // Touched on every read; only this loop touches them and no access to one spans a call that
    // could reach it again, so the runtime's exclusivity checks are left out.
    @exclusivity(unchecked) private var parser = HTTP1ResponseParser()
    /// Response bytes read and not decoded yet.
    @exclusivity(unchecked) private var input = ByteBuffer()
    private var decoding = false
    private var decodeFailed = false
    /// Whether the current request's body goes out chunked.
    private var chunkedRequest = false
    /// False once a response is delimited by the connection closing (or switches protocols):
    /// the connection cannot carry another request, whatever its headers say.
    private var framingAllowsReuse = true
    private var allocator = ByteBufferAllocator()
    /// Request bytes waiting for the next flush (see `OutboundGatherer`).
    @exclusivity(unchecked) private var output = OutboundGatherer(recycles: true)
    /// The worker's: a response's head, its end and the downstream's idle timer take the time
    /// of the socket read they came in.
    private let readClock: LoopReadClock

    init(readClock: LoopReadClock = LoopReadClock()) {
        self.readClock = readClock
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        lentContext = Unmanaged.passUnretained(context)
        allocator = context.channel.allocator
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        lentContext = nil
    }

    // MARK: writing the request

    func beginRequest() {
        receivedResponse = false
        failure = .connectionTermination
    }

    func write(_ part: UpstreamRequestPart, promise: EventLoopPromise<Void>? = nil) {
        guard let lentContext else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        lentContext._withUnsafeGuaranteedRef { write(part, promise: promise, context: $0) }
    }

    private func write(_ part: UpstreamRequestPart, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            parser.answersHead = head.method.isHEAD
            parser.answersUpgrade = head.isUpgrade
            var buffer = output.buffer(capacity: 512, allocator: allocator)
            chunkedRequest = HTTP1RequestWriter.writeHead(head, into: &buffer)
            output.write(buffer, promise: promise, context: context)
        case .body(.byteBuffer(let body)):
            guard chunkedRequest, body.readableBytes > 0 else {
                output.write(body, promise: promise, context: context)
                return
            }
            var header = allocator.buffer(capacity: 16)
            HTTP1RequestWriter.writeChunkHeader(size: body.readableBytes, into: &header)
            output.write(header, promise: nil, context: context)
            output.write(body, promise: nil, context: context)
            // Written in order: the promise completes once all three parts are out.
            var crlf = allocator.buffer(capacity: 2)
            crlf.writeStaticString("\r\n")
            output.write(crlf, promise: promise, context: context)
        case .body(.fileRegion(let region)):
            output.write(other: wrapOutboundOut(.fileRegion(region)), promise: promise, context: context)
        case .end(let trailers):
            if chunkedRequest {
                var last = allocator.buffer(capacity: 64)
                HTTP1RequestWriter.writeLastChunk(trailers: trailers.flatMap { $0.isEmpty ? nil : $0 }, into: &last)
                output.write(last, promise: promise, context: context)
            } else if let promise {
                // Nothing to send, but the promise completes in order with the writes before it.
                output.write(allocator.buffer(capacity: 0), promise: promise, context: context)
            }
        }
    }

    /// Writes a request head (not upgrading) whose fields `writeFields` writes as `name: value`
    /// lines straight into the outbound buffer: no `HeaderFields` or head object in between.
    func writeHead(method: HTTPMethod, uri: String, chunkedBody: Bool, writeFields: (inout ByteBuffer) -> Void) {
        guard let lentContext else { return }
        parser.answersHead = method.isHEAD
        parser.answersUpgrade = false
        var buffer = output.buffer(capacity: 512, allocator: allocator)
        HTTP1RequestWriter.writeRequestLine(method: method, uri: uri, version: .http1_1, into: &buffer)
        writeFields(&buffer)
        buffer.writeStaticString("\r\n")
        chunkedRequest = chunkedBody
        lentContext._withUnsafeGuaranteedRef { output.write(buffer, promise: nil, context: $0) }
    }

    var lentHTTP1: Unmanaged<UpstreamConnection>? { Unmanaged.passUnretained(self) }

    var eventTime: NIODeadline { readClock.now() }

    func reuseResponseFields(_ fields: consuming HeaderFields) {
        parser.spareFields = fields
    }

    func flush() {
        guard let lentContext else { return }
        lentContext._withUnsafeGuaranteedRef { output.flush($0) }
    }

    consuming func release(reusable: Bool) {
        requestsServed += 1
        guard let pool else {
            close()
            return
        }
        pool.release(self, reusable: reusable && framingAllowsReuse)
    }

    // MARK: backpressure

    func holdReads() {
        readsHeld = true
    }

    func resumeReads() {
        guard readsHeld else { return }
        readsHeld = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if readsHeld {
            readPending = true
        } else {
            context.read()
        }
    }

    // MARK: events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard isOpen else { return }
        if input.readableBytes == 0 {
            input = incoming
        } else {
            input.writeBuffer(&incoming)
        }
        readClock.beginRead()
        decodeInput()
        readClock.endRead()
    }

    /// Hands decoded response parts to the request, until the input runs out or the
    /// connection closes (the request may abandon it from inside a callback).
    private func decodeInput() {
        guard !decoding else { return }
        decoding = true
        defer { decoding = false }
        while isOpen, !decodeFailed {
            // One binding only, consumed below: a second one (the optional) would live on through
            // the delegate call and make the exchange's in-place edit of the fields copy them.
            let event: HTTP1ResponseParser.Event
            do {
                guard let next = try parser.next(&input) else { return }
                event = next
            } catch {
                // A response that does not parse is a protocol error (502 UPE); nothing more of
                // it is decoded, not even at the close.
                failure = .protocolError
                decodeFailed = true
                context?.close(promise: nil)
                return
            }
            guard delegate != nil else {
                // Bytes while idle: the server misbehaves; the connection cannot be trusted.
                close()
                return
            }
            receivedResponse = true
            // Consumed: the head moves on to the exchange, which edits its fields in place.
            switch consume event {
            case .head(let head):
                if parser.readsUntilClose || head.status == 101 { framingAllowsReuse = false }
                // Moved on through an optional (the closure cannot consume the binding).
                var moved: UpstreamResponseHead? = consume head
                moved?.receivedAt = readClock.now()
                callDelegate { delegate in
                    if let head = moved.take() { delegate.upstreamResponseHead(head) }
                }
            case .body(let buffer):
                callDelegate { $0.upstreamResponseBody(buffer) }
            case .end(let trailers):
                callDelegate { $0.upstreamResponseEnd(trailers: trailers) }
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        callDelegate { $0.upstreamReadComplete() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        callDelegate { $0.upstreamWritabilityChanged() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Any socket error (ECONNRESET above all) is a reset.
        failure = .remoteReset
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isOpen, !decodeFailed, let delegate {
            if let end = parser.finish(), case .end(let trailers) = end {
                // A body delimited by the close is complete now.
                delegate.upstreamResponseEnd(trailers: trailers)
            } else if parser.isInsideMessage || input.readableBytes > 0 {
                // Cut off inside a response: llhttp called this a parse error too.
                failure = .protocolError
            }
        }
        isOpen = false
        input = ByteBuffer()
        output.discard()
        let delegate = self.delegate
        self.delegate = nil
        pool?.connectionClosed(self)
        delegate?.upstreamFailed(failure)
        context.fireChannelInactive()
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        delegate = nil
        context?.close(promise: nil)
    }
}
