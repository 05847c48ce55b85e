import CNGHTTP2
import NIOCore
import NIOHTTP1

/// What the application asks of a session: heads submitted, bodies and ends queued, streams
/// reset, received bytes handed back to flow control.
extension NGHTTP2Session {
    func stream(_ id: HTTP2StreamID) throws -> HTTP2StreamState {
        guard let stream = self.lookup(id.value), !stream.detached else { throw HTTP2CodecError.unknownStream(id) }
        return stream
    }

    /// Runs `body` with stream `id` lent without a retain (`stream(_:)` retained it for each
    /// call): for the handlers' calls that end with their stream, whose code lets go of nothing
    /// before its last use of it (an event to the application, which may close, comes last).
    @inline(__always)
    func withStream<Result>(_ id: HTTP2StreamID, _ body: (HTTP2StreamState) throws -> Result) throws -> Result {
        guard let lent = self.lent(id.value), !lent._withUnsafeGuaranteedRef({ $0.detached }) else {
            throw HTTP2CodecError.unknownStream(id)
        }
        return try lent._withUnsafeGuaranteedRef(body)
    }

    /// The handlers' stream calls (`sendBody`, `resetStream`...): `body` runs with this session
    /// and stream `id`, both lent (see `withStream`, and the handlers' `lentCore`), once the
    /// session is known to be open.
    @inline(__always)
    func withOpenStream(_ id: HTTP2StreamID, _ body: (NGHTTP2Session, HTTP2StreamState) throws -> Void) throws {
        guard self.session != nil else { throw HTTP2CodecError.connectionGoingAway }
        try self.withStream(id) { try body(self, $0) }
    }

    /// The handler lets go of this session: closed now, and kept until a later tick when nghttp2
    /// is on the stack (a callback removed the handler), so that it outlives each of the
    /// handler's calls that lent it (`lentCore`).
    func retire(on eventLoop: any EventLoop) {
        self.close()
        guard self.isBusy else { return }
        let kept = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute { _ = kept }
    }

    /// Every body is read from its stream's queue; nghttp2 copies the provider on submit.
    private static var dataProvider: nghttp2_data_provider {
        nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: NGHTTP2Callbacks.readData)
    }

    /// Submits a response (server) head; a data provider is attached unless `endStream`.
    func submitResponse(_ stream: HTTP2StreamState, head: HTTP2ResponseHead, endStream: Bool) throws {
        try self.submitResponse(stream, status: head.status, endStream: endStream) { $0.append(head.headers) }
    }

    /// Submits a response head with byte fields, lent to the block rather than copied into it.
    func submitResponse(_ stream: HTTP2StreamState, status: Int, endStream: Bool, fields: HeaderFields) throws {
        try self.headerBlock.borrowing(fields) {
            try self.submitResponse(stream, status: status, endStream: endStream) { $0.append(fields) }
        }
    }

    /// Submits a response head whose regular fields `appendFields` adds to the block, with
    /// `fields` lent to it (`HeaderBlock.borrowing`).
    func submitResponse(
        _ stream: HTTP2StreamState, status: Int, endStream: Bool, lending fields: borrowing HeaderFields,
        appendFields: (HeaderBlock) -> Void
    ) throws {
        try self.headerBlock.borrowing(fields) {
            try self.submitResponse(stream, status: status, endStream: endStream, appendFields: appendFields)
        }
    }

    /// Submits a response head whose regular fields `appendFields` adds to the block.
    func submitResponse(_ stream: HTTP2StreamState, status: Int, endStream: Bool, appendFields: (HeaderBlock) -> Void) throws {
        guard let session else { throw HTTP2CodecError.connectionGoingAway }
        guard !stream.sentHead else {
            throw HTTP2CodecError.invalidStreamState(HTTP2StreamID(stream.id), "response head already sent")
        }
        self.headerBlock.reset()
        self.headerBlock.append(name: ":status", decimal: status)
        appendFields(self.headerBlock)
        let streamID = stream.id  // Read here: the closure would retain the stream to read it.
        let rv = self.headerBlock.submit { nva, count in
            if endStream { return nghttp2_submit_response(session, streamID, nva, count, nil) }
            return withUnsafePointer(to: Self.dataProvider) {
                nghttp2_submit_response(session, streamID, nva, count, $0)
            }
        }
        guard rv == 0 else { throw Self.error(rv) }
        stream.sentHead = true
        stream.hasDataProvider = !endStream
        if endStream { stream.localEnded = true }
        self.scheduleFlush()
    }

    /// Submits a request (client) whose response goes to `delegate`; returns the new stream's id.
    func submitRequest(_ head: HTTP2RequestHead, endStream: Bool, delegate: any HTTP2ClientStreamDelegate) throws -> Int32 {
        try self.submitRequest(method: head.method, scheme: head.scheme, endStream: endStream, delegate: delegate) { block in
            block.append(name: ":authority", value: head.authority)
            block.append(name: ":path", value: head.path)
            block.append(head.headers)
        }
    }

    /// Submits a request whose fields `appendRest` takes from `lent`, which the block borrows
    /// rather than copies (see `submitRequest(method:scheme:endStream:appendRest:)`).
    func submitRequest(
        method: String, scheme: String, endStream: Bool, lending lent: HeaderFields, delegate: any HTTP2ClientStreamDelegate,
        appendRest: (HeaderBlock) -> Void
    ) throws -> Int32 {
        try self.headerBlock.borrowing(lent) {
            try self.submitRequest(method: method, scheme: scheme, endStream: endStream, delegate: delegate, appendRest: appendRest)
        }
    }

    /// Submits a request: `:method` and `:scheme`, then what `appendRest` adds to the block
    /// (`:authority`, `:path`, the regular fields). The new stream, whose response goes to
    /// `delegate`, is moved into the table (returning it as well cost a retain and a release).
    func submitRequest(
        method: String, scheme: String, endStream: Bool, delegate: any HTTP2ClientStreamDelegate, appendRest: (HeaderBlock) -> Void
    ) throws -> Int32 {
        guard let session else { throw HTTP2CodecError.connectionGoingAway }
        self.headerBlock.reset()
        self.headerBlock.append(name: ":method", value: method)
        self.headerBlock.append(name: ":scheme", value: scheme)
        appendRest(self.headerBlock)
        let id = self.headerBlock.submit { nva, count in
            if endStream { return nghttp2_submit_request(session, nil, nva, count, nil, nil) }
            return withUnsafePointer(to: Self.dataProvider) {
                nghttp2_submit_request(session, nil, nva, count, $0, nil)
            }
        }
        guard id > 0 else { throw Self.error(id) }
        self.nextStreamID = UInt32(id) + 2  // As nghttp2 counts (`next_stream_id += 2`).
        let stream = self.makeStream(id: id)
        stream.sentHead = true
        stream.hasDataProvider = !endStream
        stream.localEnded = endStream
        HTTP2StreamState.fill(&stream.clientDelegate, with: delegate)
        self.streams.insertNew(consume stream, for: id)  // A new id: not held.
        self.scheduleIdleSweep()
        self.scheduleFlush()
        return id
    }

    func enqueueBody(_ stream: HTTP2StreamState, _ bytes: ByteBuffer, endStream: Bool, promise: EventLoopPromise<Void>?)
        throws
    {
        guard stream.sentHead, stream.hasDataProvider, !stream.localEnded else {
            promise?.fail(HTTP2CodecError.invalidStreamState(HTTP2StreamID(stream.id), "body outside an open body"))
            throw HTTP2CodecError.invalidStreamState(HTTP2StreamID(stream.id), "body sent before head or after end")
        }
        if bytes.readableBytes > 0 || promise != nil {
            // Made apart for a nil promise (the usual case): copying a nil promise still called retain.
            if let promise {
                stream.queue.append(OutboundChunk(bytes: bytes, promise: promise))
            } else {
                stream.queue.append(OutboundChunk(bytes: bytes, promise: nil))
            }
            stream.queuedBytes += bytes.readableBytes
            self.outboundQueuedBytes += bytes.readableBytes
            self.maxOutboundQueuedBytes = max(self.maxOutboundQueuedBytes, self.outboundQueuedBytes)
        }
        if endStream { stream.localEnded = true }
        let crossedHighWatermark = stream.isWritable && stream.queuedBytes > self.configuration.streamOutboundHighWatermark
        if crossedHighWatermark { stream.isWritable = false }
        self.resumeIfDeferred(stream)
        // Last: the application may close the connection in it, which lets go of the stream.
        if crossedHighWatermark { self.withEvents { $0.sessionStreamWritabilityChanged(stream) } }
    }

    func enqueueEnd(_ stream: HTTP2StreamState, trailers: HTTPHeaders?) throws {
        guard stream.sentHead, stream.hasDataProvider, !stream.localEnded else {
            throw HTTP2CodecError.invalidStreamState(HTTP2StreamID(stream.id), "end sent before head or twice")
        }
        stream.localEnded = true
        if let trailers, !trailers.isEmpty { stream.trailers = trailers }
        self.resumeIfDeferred(stream)
    }

    private func resumeIfDeferred(_ stream: HTTP2StreamState) {
        if stream.deferred, let session {
            stream.deferred = false
            _ = nghttp2_session_resume_data(session, stream.id)
        }
        self.scheduleFlush()
    }

    func resetStream(_ stream: HTTP2StreamState, code: HTTP2ErrorCode) {
        guard let session, !stream.localResetSent else { return }
        stream.localResetSent = true
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, code.rawValue)
        self.scheduleFlush()
    }

    /// Hands `count` received body bytes back to the peer's flow-control windows.
    func consume(_ id: HTTP2StreamID, _ count: Int) {
        guard let session, count > 0 else { return }
        let returned = self.takeUnconsumed(id.value, upTo: count)
        guard returned > 0 else { return }
        _ = nghttp2_session_consume(session, id.value, returned)
        self.scheduleFlush()
    }

    /// The error is built only when a write waits: boxing it costs an allocation, and most
    /// streams close with nothing queued.
    func failQueuedWrites(_ stream: HTTP2StreamState, error: @autoclosure () -> any Error) {
        guard !stream.queue.isEmpty else { return }
        let error = error()
        for promise in stream.queue.removeAll() { promise.fail(error) }
        self.outboundQueuedBytes -= stream.queuedBytes
        stream.queuedBytes = 0
    }
}
