import CNGHTTP2
import NIOCore
import NIOHTTP1
import NIOPosix

/// Receives one client stream's response. Called on the connection's event loop.
/// Body chunks must be handed back with `connection.consume(_:stream:)` as they are used.
public protocol HTTP2ClientStreamDelegate: AnyObject {
    /// The final response head (1xx are skipped). With `endStream` nothing follows.
    func responseHead(
        _ head: HTTP2ResponseHead,
        endStream: Bool,
        stream: HTTP2StreamID,
        connection: HTTP2ClientConnection
    )
    /// The same head as byte fields (lower-case names, as received): what a proxy forwarding it
    /// takes, with no string made per field. By default this builds the `HTTP2ResponseHead` and
    /// calls `responseHead(_:endStream:stream:connection:)`. The fields are handed over (no
    /// other reference), so the receiver can edit them in place without a copy.
    func responseHead(status: Int, fields: consuming HeaderFields, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection)
    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection)
    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection)
    /// The stream failed (reset by either side, refused by GOAWAY, or the connection closed).
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection)
    /// The request body crossed the stream's high (false) or low (true) watermark.
    func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection)
}

extension HTTP2ClientStreamDelegate {
    public func responseHead(
        status: Int, fields: consuming HeaderFields, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection
    ) {
        self.responseHead(HTTP2ResponseHead(status: status, headers: fields.httpHeaders), endStream: endStream, stream: stream, connection: connection)
    }

    public func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
    }
}

/// Connection-level events, for pools.
public protocol HTTP2ClientConnectionDelegate: AnyObject {
    /// A stream closed or the server's SETTINGS changed MAX_CONCURRENT_STREAMS.
    func streamCapacityChanged(_ connection: HTTP2ClientConnection)
    /// The server sent GOAWAY: open no new streams; streams above `lastStreamID` were refused.
    func goAwayReceived(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode, connection: HTTP2ClientConnection)
    func connectionClosed(_ connection: HTTP2ClientConnection)
}

extension HTTP2ClientConnectionDelegate {
    public func streamCapacityChanged(_ connection: HTTP2ClientConnection) {}
    public func goAwayReceived(
        lastStreamID: HTTP2StreamID,
        errorCode: HTTP2ErrorCode,
        connection: HTTP2ClientConnection
    ) {}
    public func connectionClosed(_ connection: HTTP2ClientConnection) {}
}

/// A whole response, as collected by `sendRequest`.
public struct HTTP2Response: Sendable, Equatable {
    public var head: HTTP2ResponseHead
    public var body: ByteBuffer
    public var trailers: HTTPHeaders?
}

/// The client side of one HTTP/2 (h2c, prior knowledge) connection: a NIO handler owning an
/// nghttp2 client session; requests are multiplexed streams within the peer's limit.
public final class HTTP2ClientConnection: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public let configuration: HTTP2Configuration
    /// Held strongly until the connection closes (after `connectionClosed`), then released: a
    /// weak reference would cost an atomic side-table load on every stream's close.
    public var delegate: (any HTTP2ClientConnectionDelegate)?
    private(set) var core: NGHTTP2Session?
    private var isActive = false
    public private(set) var eventLoop: (any EventLoop)?
    /// Read once per socket read for its events (`eventTime`).
    @exclusivity(unchecked) private var readClock = ReadClock()

    public init(configuration: HTTP2Configuration = .default, delegate: (any HTTP2ClientConnectionDelegate)? = nil) {
        self.configuration = configuration
        self.delegate = delegate
    }

    /// Connects to an h2c server and returns the connection, bound to its event loop.
    public static func connect(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        configuration: HTTP2Configuration = .default
    ) -> EventLoopFuture<NIOLoopBound<HTTP2ClientConnection>> {
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP2ClientConnection(configuration: configuration))
                }
            }
            .connect(host: host, port: port)
            .flatMapThrowing { channel in
                NIOLoopBound(
                    try channel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self),
                    eventLoop: channel.eventLoop
                )
            }
    }

    // MARK: Capacity

    /// Streams this side opened that have not closed yet.
    public var openStreamCount: Int { self.core?.streams.count ?? 0 }

    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (or the assumed value until they arrive).
    public var maxConcurrentStreams: Int {
        guard let core = self.lentCore, core._withUnsafeGuaranteedRef({ $0.session != nil }) else { return 0 }
        return Int(core._withUnsafeGuaranteedRef { $0.peerMaxConcurrentStreams })
    }

    /// How many more streams may be opened now; 0 after GOAWAY or close.
    public var availableStreams: Int {
        guard self.isAcceptingStreams else { return 0 }
        return max(0, self.maxConcurrentStreams - self.openStreamCount)
    }

    /// False once GOAWAY was received or sent, stream ids ran out, or the connection closed.
    public var isAcceptingStreams: Bool {
        guard let core = self.lentCore else { return false }
        return core._withUnsafeGuaranteedRef { self.isAccepting($0) }
    }

    /// Whether `core` takes new streams (see `isAcceptingStreams`).
    private func isAccepting(_ core: NGHTTP2Session) -> Bool {
        core.session != nil && self.isActive && !core.goAwayReceived && !core.goAwaySent
            && core.nextStreamID <= UInt32(Int32.max)
    }

    /// Response body bytes queued to send (all streams) and their high-water mark.
    public var outboundQueuedBytes: Int { self.core?.outboundQueuedBytes ?? 0 }
    public var maxOutboundQueuedBytes: Int { self.core?.maxOutboundQueuedBytes ?? 0 }

    // MARK: Streams

    /// Opens a stream with a request head. Fails with `streamLimitReached` when the server's
    /// MAX_CONCURRENT_STREAMS are all in use, `connectionGoingAway` after GOAWAY.
    @discardableResult
    public func openStream(
        _ head: HTTP2RequestHead,
        endStream: Bool,
        delegate: any HTTP2ClientStreamDelegate
    ) throws -> HTTP2StreamID {
        try self.openStream { core in try core.submitRequest(head, endStream: endStream, delegate: delegate) }
    }

    /// Opens a stream for a forwarded head given as byte fields: `:authority` is the first Host
    /// field's value (empty without one); names are lower-cased, and Host and the other
    /// connection-specific fields dropped, as they are copied into the block.
    @discardableResult
    public func openStream(
        method: String, scheme: String = "http", path: String, forwardedFields fields: HeaderFields,
        endStream: Bool, delegate: any HTTP2ClientStreamDelegate
    ) throws -> HTTP2StreamID {
        try self.openStream { core in
            try core.submitRequest(method: method, scheme: scheme, endStream: endStream, lending: fields, delegate: delegate) { block in
                block.append(name: ":authority", valueOfFirst: "host", in: fields)
                block.append(name: ":path", value: path)
                block.append(fields)
            }
        }
    }

    /// Opens a stream whose regular fields `writeFields` writes straight into its header block
    /// (`HTTP2RequestFieldWriter`): the same block `openStream(method:scheme:path:forwardedFields:...)`
    /// makes from those fields, without collecting them first.
    @discardableResult
    public func openStream(
        method: String, scheme: String = "http", path: String, endStream: Bool, delegate: any HTTP2ClientStreamDelegate,
        writeFields: (inout HTTP2RequestFieldWriter) -> Void
    ) throws -> HTTP2StreamID {
        try self.openStream { core in
            try core.submitRequest(method: method, scheme: scheme, endStream: endStream, delegate: delegate) { block in
                let authority = block.appendPlaceholder(name: ":authority")
                block.append(name: ":path", value: path)
                var writer = HTTP2RequestFieldWriter(block: block, authorityField: authority)
                writeFields(&writer)
            }
        }
    }

    /// What every `openStream` checks first (the connection takes streams and has one free),
    /// then `submit`, which returns the new stream's id. The session is lent once for both (a
    /// strong read of `core` for each check retained it again).
    private func openStream(submit: (NGHTTP2Session) throws -> Int32) throws -> HTTP2StreamID {
        guard let lent = self.lentCore else { throw HTTP2CodecError.connectionGoingAway }
        return try lent._withUnsafeGuaranteedRef { core in
            guard self.isAccepting(core) else { throw HTTP2CodecError.connectionGoingAway }
            let limit = Int(core.peerMaxConcurrentStreams)
            guard limit - core.streams.count > 0 else { throw HTTP2CodecError.streamLimitReached(limit) }
            return HTTP2StreamID(try submit(core))
        }
    }

    public func sendBody(
        _ bytes: ByteBuffer,
        stream: HTTP2StreamID,
        endStream: Bool = false,
        promise: EventLoopPromise<Void>? = nil
    ) throws {
        try self.withStream(stream) { core, stream in try core.enqueueBody(stream, bytes, endStream: endStream, promise: promise) }
    }

    /// Ends the request body, with trailers if given.
    public func sendEnd(stream: HTTP2StreamID, trailers: HTTPHeaders? = nil) throws {
        try self.withStream(stream) { core, stream in try core.enqueueEnd(stream, trailers: trailers) }
    }

    public func resetStream(_ stream: HTTP2StreamID, code: HTTP2ErrorCode = .cancel) throws {
        try self.withStream(stream) { core, stream in core.resetStream(stream, code: code) }
    }

    /// Returns `bytes` of received response body to the server's windows.
    public func consume(_ bytes: Int, stream: HTTP2StreamID) {
        self.lentCore?._withUnsafeGuaranteedRef { $0.consume(stream, bytes) }
    }

    /// Hands back a response head's fields the application is done with (forwarded): the next
    /// response head received is written into their storage when it fits, with no allocation.
    public func reuseFieldStorage(_ fields: consuming HeaderFields) {
        self.core?.keepSpareFields(fields)
    }

    /// The time of the event being delivered: for events from one socket read (response heads,
    /// bodies, ends), the clock as read once for that read; otherwise the clock now.
    public var eventTime: NIODeadline { self.readClock.now() }

    public func isWritable(stream: HTTP2StreamID) -> Bool {
        (try? self.core?.stream(stream).isWritable) ?? false
    }

    /// Sends a whole request and collects the whole response (consuming its body as it arrives).
    /// Stream-level failures (reset, limit, GOAWAY) fail the future; it throws only when the
    /// handler is not in a pipeline.
    public func sendRequest(
        _ head: HTTP2RequestHead,
        body: ByteBuffer? = nil,
        trailers: HTTPHeaders? = nil
    ) throws -> EventLoopFuture<HTTP2Response> {
        guard let eventLoop = self.eventLoop else { throw HTTP2CodecError.connectionGoingAway }
        let collector = ResponseCollector(promise: eventLoop.makePromise(), allocator: ByteBufferAllocator())
        let hasBody = (body?.readableBytes ?? 0) > 0
        let hasTrailers = !(trailers?.isEmpty ?? true)
        do {
            let stream = try self.openStream(head, endStream: !hasBody && !hasTrailers, delegate: collector)
            if hasBody, let body { try self.sendBody(body, stream: stream, endStream: !hasTrailers) }
            if hasTrailers { try self.sendEnd(stream: stream, trailers: trailers) }
        } catch {
            collector.promise.fail(error)
        }
        return collector.promise.futureResult
    }

    /// Sends GOAWAY(NO_ERROR) and closes once open streams finish.
    public func close() {
        guard let core = self.core, let session = core.session else { return }
        _ = nghttp2_session_terminate_session(session, HTTP2ErrorCode.noError.rawValue)
        core.scheduleFlush()
    }

    /// The session lent without a retain (each read of `core` retained it for the call): the
    /// handler holds it, `core` changes only in handlerAdded/handlerRemoved, and a busy session
    /// outlives its removal (`NGHTTP2Session.retire`), so it outlives each of our calls using it.
    @inline(__always)
    private var lentCore: Unmanaged<NGHTTP2Session>? { self.core.map { Unmanaged.passUnretained($0) } }

    /// Runs `body` with the session and stream `id`, both lent (`NGHTTP2Session.withOpenStream`).
    private func withStream(_ id: HTTP2StreamID, _ body: (NGHTTP2Session, HTTP2StreamState) throws -> Void) throws {
        guard let core = self.lentCore else { throw HTTP2CodecError.connectionGoingAway }
        try core._withUnsafeGuaranteedRef { try $0.withOpenStream(id, body) }
    }

    // MARK: ChannelHandler

    public func handlerAdded(context: ChannelHandlerContext) {
        self.eventLoop = context.eventLoop
        do {
            let core = try NGHTTP2Session.started(role: .client, configuration: self.configuration, events: self, context: context)
            self.core = core
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        if context.channel.isActive {
            self.isActive = true
            self.core?.flush()
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.core?.retire(on: context.eventLoop)
        self.core = nil
        self.delegate = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        self.isActive = true
        self.core?.flush()
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.isActive = false
        self.core?.close()
        self.delegate?.connectionClosed(self)
        self.delegate = nil
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.readClock.beginRead()
        _ = self.lentCore?._withUnsafeGuaranteedRef { $0.receive(Self.unwrapInboundIn(data)) }
        self.readClock.endRead()
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        self.lentCore?._withUnsafeGuaranteedRef { $0.flush() }
        context.fireChannelReadComplete()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.core?.writabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension HTTP2ClientConnection: NGHTTP2SessionEvents {
    func sessionReceivedHead(_ stream: HTTP2StreamState, endStream: Bool) {
        stream.clientDelegate?.responseHead(
            status: stream.status,
            fields: stream.takeFields(),
            endStream: endStream,
            stream: HTTP2StreamID(stream.id),
            connection: self
        )
    }

    func sessionReceivedBody(_ stream: HTTP2StreamState, _ chunk: ByteBuffer) {
        stream.clientDelegate?.responseBody(chunk, stream: HTTP2StreamID(stream.id), connection: self)
    }

    func sessionReceivedEnd(_ stream: HTTP2StreamState, trailers: HTTPHeaders?) {
        stream.clientDelegate?.responseEnd(trailers: trailers, stream: HTTP2StreamID(stream.id), connection: self)
    }

    func sessionClosedStream(_ stream: HTTP2StreamState, reset: HTTP2StreamReset?) {
        if let reset, let delegate = stream.clientDelegate {
            delegate.streamReset(reset, stream: HTTP2StreamID(stream.id), connection: self)
        }
        self.delegate?.streamCapacityChanged(self)
    }

    /// A response head over the limits: the stream is reset; the caller sees an internal error.
    func sessionReceivedOversizedHeaders(_ stream: HTTP2StreamState) {
        self.core?.resetStream(stream, code: .internalError)
    }

    func sessionStreamIdleTimedOut(_ stream: HTTP2StreamState) {
        let delegate = stream.clientDelegate
        stream.detached = true
        self.core?.resetStream(stream, code: .cancel)
        delegate?.streamReset(
            HTTP2StreamReset(code: .cancel, origin: .idleTimeout),
            stream: HTTP2StreamID(stream.id),
            connection: self
        )
    }

    func sessionStreamWritabilityChanged(_ stream: HTTP2StreamState) {
        stream.clientDelegate?.streamWritabilityChanged(
            stream.isWritable,
            stream: HTTP2StreamID(stream.id),
            connection: self
        )
    }

    func sessionReceivedGoAway(lastStreamID: Int32, errorCode: HTTP2ErrorCode) {
        self.delegate?.goAwayReceived(lastStreamID: HTTP2StreamID(lastStreamID), errorCode: errorCode, connection: self)
    }

    func sessionReceivedSettings() {
        self.delegate?.streamCapacityChanged(self)
    }

    func sessionReceivedPingAck() {}

    /// The pod's streams on this connection end as resets; nothing more to tell.
    func sessionReceivedMalformedMessage() {}
}

/// Collects one response for `sendRequest`, returning window as bytes arrive.
private final class ResponseCollector: HTTP2ClientStreamDelegate {
    let promise: EventLoopPromise<HTTP2Response>
    private var head = HTTP2ResponseHead(status: 0)
    private var body: ByteBuffer

    init(promise: EventLoopPromise<HTTP2Response>, allocator: ByteBufferAllocator) {
        self.promise = promise
        self.body = allocator.buffer(capacity: 0)
    }

    func responseHead(
        _ head: HTTP2ResponseHead,
        endStream: Bool,
        stream: HTTP2StreamID,
        connection: HTTP2ClientConnection
    ) {
        self.head = head
        if endStream { self.promise.succeed(HTTP2Response(head: head, body: self.body, trailers: nil)) }
    }

    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        var chunk = chunk
        let count = chunk.readableBytes
        self.body.writeBuffer(&chunk)
        connection.consume(count, stream: stream)
    }

    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        self.promise.succeed(HTTP2Response(head: self.head, body: self.body, trailers: trailers))
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        self.promise.fail(reset)
    }
}
