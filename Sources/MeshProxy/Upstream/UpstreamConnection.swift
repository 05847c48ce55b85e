import NIOCore
import NIOHTTP1


/// What an upstream connection reports to the request it currently serves.
protocol UpstreamConnectionDelegate: AnyObject {
    func upstreamResponseHead(_ head: HTTPResponseHead)
    func upstreamResponseBody(_ buffer: ByteBuffer)
    func upstreamResponseEnd(trailers: HTTPHeaders?)
    func upstreamReadComplete()
    func upstreamWritabilityChanged()
    /// The connection closed or failed before the response ended.
    func upstreamFailed(_ reason: UpstreamFailure)
}

enum UpstreamFailure: Sendable {
    /// The peer closed the connection (EOF).
    case connectionTermination
    /// The peer reset the connection (ECONNRESET) or the socket failed.
    case remoteReset
    /// The response could not be parsed.
    case protocolError
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
    func write(_ part: HTTPClientRequestPart, promise: EventLoopPromise<Void>?)
    func flush()
    /// Stop / resume taking response bytes (the downstream cannot take more).
    func holdReads()
    func resumeReads()
    /// The response ended: hand the transport back; `reusable` says whether its framing allows another.
    func release(reusable: Bool)
    /// Abandoned mid-exchange: an HTTP/1.1 connection closes, an HTTP/2 stream is reset (CANCEL).
    func close()
}

/// One keep-alive HTTP/1.1 connection to an endpoint, owned by this event loop's pool. It is
/// the last handler of its pipeline (request encoder, response decoder, this) and forwards
/// response parts to whichever request holds it; it holds reads while the downstream cannot
/// take more (backpressure).
final class UpstreamConnection: ChannelDuplexHandler, RemovableChannelHandler, UpstreamTransport {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private(set) var context: ChannelHandlerContext?
    /// Strong: a pool retired by a config swap must outlive its connections still in use.
    /// The cycle ends when the connection closes (`connectionClosed` clears it).
    var pool: EndpointPool?
    /// The request using the connection; nil while idle in the pool.
    var delegate: UpstreamConnectionDelegate?
    var requestsServed = 0
    private(set) var isOpen = true
    /// Whether the connection was used before, so a failure on it may be a stale keep-alive.
    var wasReused: Bool { requestsServed > 0 }
    private var readsHeld = false
    private var readPending = false
    private var failure: UpstreamFailure = .connectionTermination
    /// Whether any part of the current response arrived.
    private(set) var receivedResponse = false

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: writing the request

    func beginRequest() {
        receivedResponse = false
        failure = .connectionTermination
    }

    func write(_ part: HTTPClientRequestPart, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }

    func flush() {
        context?.flush()
    }

    func release(reusable: Bool) {
        requestsServed += 1
        guard let pool else {
            close()
            return
        }
        pool.release(self, reusable: reusable)
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
        let part = unwrapInboundIn(data)
        receivedResponse = true
        guard let delegate else {
            // Bytes while idle: the server misbehaves; the connection cannot be trusted.
            close()
            return
        }
        switch part {
        case .head(let head): delegate.upstreamResponseHead(head)
        case .body(let buffer): delegate.upstreamResponseBody(buffer)
        case .end(let trailers): delegate.upstreamResponseEnd(trailers: trailers)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A response that does not parse is a protocol error (502 UPE); any socket error
        // (ECONNRESET above all) is a reset.
        failure = error is HTTPParserError ? .protocolError : .remoteReset
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
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
