import CNGHTTP2
import NIOCore
import NIOHTTP1

/// Receives one server connection's request streams. Called on the connection's event loop;
/// answer through `connection` (on that loop too).
///
/// Flow control is the application's: every body chunk delivered must eventually be handed
/// back with `connection.consume(_:stream:)` (a proxy does it once it has forwarded the bytes),
/// or the client stops sending once the stream window is full.
public protocol HTTP2ServerDelegate: AnyObject {
    /// A request head. When `endStream` is true no body or end event follows.
    func requestHead(
        _ head: HTTP2RequestHead,
        endStream: Bool,
        stream: HTTP2StreamID,
        connection: HTTP2ServerConnection
    )
    /// The same head with its regular fields as bytes (lower-case names, as received; no
    /// `host` made from `:authority`): what a proxy forwarding it takes, with no string made
    /// per field. By default this builds the `HTTP2RequestHead` and calls
    /// `requestHead(_:endStream:stream:connection:)`. The fields are handed over (no other
    /// reference), so the receiver can edit them in place without a copy; so are the strings,
    /// so that keeping them costs no retain.
    func requestHead(
        method: consuming String, scheme: consuming String, authority: consuming String, path: consuming String,
        fields: consuming HeaderFields,
        endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection
    )
    /// A slice of a DATA frame's payload (not a copy of it).
    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection)
    /// The request finished, with its trailers if it had any.
    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection)
    /// The stream ended abnormally: the client reset it, it idled out, or the connection closed.
    /// No further events arrive for it and calls on it fail.
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection)
    /// The stream's queued response body crossed the high (false) or low (true) watermark.
    func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection)
    /// The stream completed in both directions.
    func streamClosed(_ stream: HTTP2StreamID, connection: HTTP2ServerConnection)
    /// A malformed request (a forbidden field, a missing pseudo-header, a body that breaks its
    /// content-length) ended the connection with GOAWAY(PROTOCOL_ERROR).
    func connectionEndedByMalformedRequest(_ connection: HTTP2ServerConnection)
}

extension HTTP2ServerDelegate {
    public func requestHead(
        method: consuming String, scheme: consuming String, authority: consuming String, path: consuming String,
        fields: consuming HeaderFields,
        endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection
    ) {
        let head = HTTP2RequestHead(method: method, scheme: scheme, authority: authority, path: path, headers: fields.httpHeaders)
        self.requestHead(head, endStream: endStream, stream: stream, connection: connection)
    }

    public func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
    }
    public func streamClosed(_ stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
    public func connectionEndedByMalformedRequest(_ connection: HTTP2ServerConnection) {}
}

/// The server side of one HTTP/2 connection: a NIO handler owning an nghttp2 server session,
/// placed last in a channel pipeline that carries raw bytes. Streams are not child channels;
/// they are events to the delegate and calls back on this object.
public final class HTTP2ServerConnection: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public let configuration: HTTP2Configuration
    private let delegate: any HTTP2ServerDelegate
    private var core: NGHTTP2Session?
    private var upgrade: (request: HTTP2RequestHead, isHead: Bool, settings: [UInt8])?
    private var shutdown: GracefulShutdown?
    public private(set) var eventLoop: (any EventLoop)?
    /// Read once per socket read for its events (`eventTime`); kept here rather than on the
    /// session, whose optional reference cost a retain and a release per look.
    @exclusivity(unchecked) private var readClock = ReadClock()

    private struct GracefulShutdown {
        var deadline: Scheduled<Void>?
    }

    public init(configuration: HTTP2Configuration = .default, delegate: any HTTP2ServerDelegate) {
        self.configuration = configuration
        self.delegate = delegate
    }

    /// A connection taken over from HTTP/1.1 by `Upgrade: h2c`: `request` becomes stream 1 (its
    /// body, if any, was not carried over) and `settingsPayload` is the decoded HTTP2-Settings.
    init(
        configuration: HTTP2Configuration,
        delegate: any HTTP2ServerDelegate,
        upgradedRequest request: HTTP2RequestHead,
        isHeadRequest: Bool,
        settingsPayload: [UInt8]
    ) {
        self.configuration = configuration
        self.delegate = delegate
        self.upgrade = (request, isHeadRequest, settingsPayload)
    }

    /// A connection taken over from HTTP/1.1 by `Upgrade: h2c` in a pipeline of your own (one
    /// that does not use NIO's upgrade handler): `upgradeRequest` becomes stream 1. Throws
    /// `badUpgradeRequest` when its HTTP2-Settings header is missing or malformed.
    public convenience init(
        configuration: HTTP2Configuration = .default,
        delegate: any HTTP2ServerDelegate,
        upgradeRequest: HTTPRequestHead
    ) throws {
        guard upgradeRequest.headers["http2-settings"].count == 1,
            let settings = HTTP2CleartextUpgrader.settingsPayload(upgradeRequest)
        else {
            throw HTTP2CodecError.badUpgradeRequest("malformed HTTP2-Settings")
        }
        self.init(
            configuration: configuration,
            delegate: delegate,
            upgradedRequest: HTTP2RequestHead(http1: upgradeRequest),
            isHeadRequest: upgradeRequest.method == .HEAD,
            settingsPayload: settings
        )
    }

    // MARK: Statistics

    /// Streams open on this connection.
    public var openStreamCount: Int { self.core?.streams.count ?? 0 }
    /// Response body bytes queued (written by the application, waiting for window or socket).
    public var outboundQueuedBytes: Int { self.core?.outboundQueuedBytes ?? 0 }
    /// The most `outboundQueuedBytes` has been over the connection's life.
    public var maxOutboundQueuedBytes: Int { self.core?.maxOutboundQueuedBytes ?? 0 }

    // MARK: Answering

    /// Sends the response head. With `endStream` the response is complete (no body).
    public func sendResponseHead(_ head: HTTP2ResponseHead, stream: HTTP2StreamID, endStream: Bool = false) throws {
        try self.withStream(stream) { core, stream in try core.submitResponse(stream, head: head, endStream: endStream) }
    }

    /// Sends a response head given as byte fields (any case: names are lower-cased, and
    /// connection-specific fields dropped, as they are copied into the block).
    public func sendResponseHead(status: Int, fields: HeaderFields, stream: HTTP2StreamID, endStream: Bool = false) throws {
        try self.withStream(stream) { core, stream in
            try core.submitResponse(stream, status: status, endStream: endStream, fields: fields)
        }
    }

    /// Sends a response head whose regular fields `writeFields` writes into its header block
    /// (`HTTP2ResponseFieldWriter`), values inside `fields`' storage lent rather than copied:
    /// the same block `sendResponseHead(status:fields:...)` makes of the fields written.
    public func sendResponseHead(
        status: Int, lending fields: borrowing HeaderFields, stream: HTTP2StreamID, endStream: Bool = false,
        writeFields: (inout HTTP2ResponseFieldWriter) -> Void
    ) throws {
        try self.withStream(stream) { core, stream in
            try core.submitResponse(stream, status: status, endStream: endStream, lending: fields) { block in
                var writer = HTTP2ResponseFieldWriter(block: block)
                writeFields(&writer)
            }
        }
    }

    /// Queues body bytes; they leave as flow control allows. `promise` completes when the last
    /// byte was handed to the socket (or fails if the stream ends first).
    public func sendBody(
        _ bytes: ByteBuffer,
        stream: HTTP2StreamID,
        endStream: Bool = false,
        promise: EventLoopPromise<Void>? = nil
    ) throws {
        try self.withStream(stream) { core, stream in try core.enqueueBody(stream, bytes, endStream: endStream, promise: promise) }
    }

    /// Ends the response, with trailers (for gRPC: `grpc-status`, `grpc-message`) if given.
    public func sendEnd(stream: HTTP2StreamID, trailers: HTTPHeaders? = nil) throws {
        try self.withStream(stream) { core, stream in try core.enqueueEnd(stream, trailers: trailers) }
    }

    /// A whole response in one call.
    public func sendResponse(
        _ head: HTTP2ResponseHead,
        body: ByteBuffer? = nil,
        trailers: HTTPHeaders? = nil,
        stream: HTTP2StreamID
    ) throws {
        let hasBody = (body?.readableBytes ?? 0) > 0
        let hasTrailers = !(trailers?.isEmpty ?? true)
        try self.sendResponseHead(head, stream: stream, endStream: !hasBody && !hasTrailers)
        if hasBody, let body { try self.sendBody(body, stream: stream, endStream: !hasTrailers) }
        if hasTrailers { try self.sendEnd(stream: stream, trailers: trailers) }
    }

    /// Sends RST_STREAM; the delegate's `streamReset` follows (origin `.local`).
    public func resetStream(_ stream: HTTP2StreamID, code: HTTP2ErrorCode = .cancel) throws {
        try self.withStream(stream) { core, stream in core.resetStream(stream, code: code) }
    }

    /// Returns `bytes` of received body to the client's stream and connection windows.
    public func consume(_ bytes: Int, stream: HTTP2StreamID) {
        self.lentCore?._withUnsafeGuaranteedRef { $0.consume(stream, bytes) }
    }

    /// Hands back a request head's fields the application is done with: the next request head
    /// received is written into their storage when it fits, with no allocation.
    public func reuseFieldStorage(_ fields: consuming HeaderFields) {
        self.core?.keepSpareFields(fields)
    }

    /// The time of the event being delivered: for events from one socket read (a request head,
    /// body, end, reset), the clock as read once for that read (`ReadClock`);
    /// otherwise the clock now.
    public var eventTime: NIODeadline { self.readClock.now() }

    /// False while the stream's queued response body is above the high watermark.
    public func isWritable(stream: HTTP2StreamID) -> Bool {
        self.lentCore?._withUnsafeGuaranteedRef { $0.isWritable(stream) } ?? false
    }

    /// GOAWAY in two steps (RFC 9113 §6.8): a notice with the maximum stream id, then, one PING
    /// round trip later, the real last stream id. In-flight streams finish; the connection closes
    /// when they have, or after `gracefulShutdownTimeout`.
    public func initiateGracefulShutdown() {
        guard self.shutdown == nil, let core = self.core, let session = core.session, let eventLoop else { return }
        self.shutdown = GracefulShutdown()
        _ = nghttp2_submit_shutdown_notice(session)
        var opaque: [UInt8] = Array("meshsim!".utf8)
        _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &opaque)
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        self.shutdown?.deadline = eventLoop.scheduleTask(in: self.configuration.gracefulShutdownTimeout) {
            loopBound.value.core?.context?.close(promise: nil)
        }
        core.scheduleFlush()
    }

    private func finishGracefulShutdown() {
        guard let core = self.core, let session = core.session else { return }
        _ = nghttp2_submit_goaway(
            session,
            UInt8(NGHTTP2_FLAG_NONE.rawValue),
            nghttp2_session_get_last_proc_stream_id(session),
            HTTP2ErrorCode.noError.rawValue,
            nil,
            0
        )
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
            let core = try NGHTTP2Session.started(role: .server, configuration: self.configuration, events: self, context: context)
            self.core = core
            if let upgrade = self.upgrade {
                try self.adoptUpgradedRequest(
                    upgrade.request,
                    isHead: upgrade.isHead,
                    settings: upgrade.settings,
                    core: core
                )
                self.upgrade = nil
            }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        if context.channel.isActive { self.core?.flush() }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.shutdown?.deadline?.cancel()
        self.core?.retire(on: context.eventLoop)
        self.core = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        self.core?.flush()
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.shutdown?.deadline?.cancel()
        self.core?.close()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let core = self.lentCore else { return }
        self.readClock.beginRead()
        _ = core._withUnsafeGuaranteedRef { $0.receive(Self.unwrapInboundIn(data)) }
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

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            self.initiateGracefulShutdown()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func adoptUpgradedRequest(
        _ request: HTTP2RequestHead,
        isHead: Bool,
        settings: [UInt8],
        core: NGHTTP2Session
    )
        throws
    {
        guard let session = core.session else { throw HTTP2CodecError.connectionGoingAway }
        let rv = settings.withUnsafeBufferPointer { payload in
            nghttp2_session_upgrade2(session, payload.baseAddress, payload.count, isHead ? 1 : 0, nil)
        }
        guard rv == 0 else { throw HTTP2CodecError.badUpgradeRequest(String(cString: nghttp2_strerror(rv))) }
        let stream = HTTP2StreamState(id: 1)
        stream.method = request.method
        stream.scheme = request.scheme
        stream.authority = request.authority
        stream.path = request.path
        stream.headers = request.headers
        stream.receivedHead = true
        stream.remoteEnded = true
        core.streams[1] = stream
        self.deliverHead(stream, endStream: true)
    }
}

extension HTTP2ServerConnection: NGHTTP2SessionEvents {
    func sessionReceivedHead(_ stream: HTTP2StreamState, endStream: Bool) {
        self.deliverHead(stream, endStream: endStream)
    }

    private func deliverHead(_ stream: HTTP2StreamState, endStream: Bool) {
        // Moved out of the stream (nothing reads them there again): passing its properties
        // retained each string for the call.
        self.delegate.requestHead(
            method: stream.method.take() ?? "", scheme: stream.scheme.take() ?? "",
            authority: stream.authority.take() ?? "", path: stream.path.take() ?? "",
            fields: stream.takeFields(), endStream: endStream, stream: HTTP2StreamID(stream.id), connection: self)
    }

    func sessionReceivedBody(_ stream: HTTP2StreamState, _ chunk: ByteBuffer) {
        self.delegate.requestBody(chunk, stream: HTTP2StreamID(stream.id), connection: self)
    }

    func sessionReceivedEnd(_ stream: HTTP2StreamState, trailers: HTTPHeaders?) {
        self.delegate.requestEnd(trailers: trailers, stream: HTTP2StreamID(stream.id), connection: self)
    }

    func sessionClosedStream(_ stream: HTTP2StreamState, reset: HTTP2StreamReset?) {
        let id = HTTP2StreamID(stream.id)
        if let reset { self.delegate.streamReset(reset, stream: id, connection: self) }
        self.delegate.streamClosed(id, connection: self)
    }

    /// RFC 9113 §10.5.1: answer 431 and keep the connection; the application never sees it.
    func sessionReceivedOversizedHeaders(_ stream: HTTP2StreamState) {
        self.refuse(stream, status: 431)
    }

    /// Envoy's stream_idle_timeout: 408 when no response started, else a reset.
    func sessionStreamIdleTimedOut(_ stream: HTTP2StreamState) {
        let wasVisible = !stream.detached
        if stream.sentHead {
            stream.detached = true
            self.core?.resetStream(stream, code: .cancel)
        } else {
            self.refuse(stream, status: 408)
        }
        if wasVisible {
            self.delegate.streamReset(
                HTTP2StreamReset(code: .cancel, origin: .idleTimeout),
                stream: HTTP2StreamID(stream.id),
                connection: self
            )
        }
    }

    private func refuse(_ stream: HTTP2StreamState, status: Int) {
        guard let core = self.core else { return }
        stream.detached = true
        stream.resetAfterResponse = true
        let head = HTTP2ResponseHead(status: status, headers: ["content-length": "0"])
        if (try? core.submitResponse(stream, head: head, endStream: true)) == nil {
            core.resetStream(stream, code: .refusedStream)
        }
    }

    func sessionStreamWritabilityChanged(_ stream: HTTP2StreamState) {
        self.delegate.streamWritabilityChanged(stream.isWritable, stream: HTTP2StreamID(stream.id), connection: self)
    }

    func sessionReceivedGoAway(lastStreamID: Int32, errorCode: HTTP2ErrorCode) {}

    func sessionReceivedSettings() {}

    func sessionReceivedPingAck() {
        if self.shutdown != nil { self.finishGracefulShutdown() }
    }

    func sessionReceivedMalformedMessage() {
        self.delegate.connectionEndedByMalformedRequest(self)
    }
}
