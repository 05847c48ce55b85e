import MeshHTTP2
import NIOCore
import NIOHTTP1

/// One request on a pooled h2c connection: the exchange writes HTTP/1-shaped parts, this sends
/// them as one HTTP/2 stream and reports the response back in HTTP/1 terms (trailers included).
///
/// The stream opens lazily, so a bodyless request goes out as one HEADERS frame with
/// END_STREAM. Flow control is tied both ways: a request body write completes (and the exchange
/// hands the bytes back to its client) only once nghttp2 sent it within the upstream stream's
/// window; response body is `consume`d only while the downstream takes it (`holdReads`).
final class HTTP2UpstreamStream: UpstreamTransport, HTTP2ClientStreamDelegate, LendsUpstreamDelegate {
    /// The exchange (or shadow request) reading the response.
    var delegate: UpstreamConnectionDelegate? {
        get { delegates.current }
        set { delegates.set(newValue) }
    }
    /// The delegate, lent to the response callbacks without a retain (`callDelegate`).
    var delegates = UpstreamDelegateHolder()
    private(set) var receivedResponse = false
    /// Set when the server refused the stream before processing it (REFUSED_STREAM, or a GOAWAY
    /// that did not cover it): safe to send again.
    private(set) var wasReused = false

    /// The pool that hands this object out, for good: it keeps its spare streams (so a strong
    /// reference here makes a cycle) only until their connection closes. Kept, not cleared when the
    /// stream finishes (`isAssigned` says that): clearing and setting it again per request cost a
    /// retain and two releases.
    private let pool: HTTP2ConnectionPool
    /// Handed to a request and not yet returned to the pool.
    private var isAssigned = true
    /// The connection of the current (or latest) request; another one's when the pool reuses
    /// the object (`reuse(slot:)`).
    private(set) var slot: HTTP2ConnectionPool.Slot
    /// `slot.client`, lent to each call without a retain (`_withUnsafeGuaranteedRef`): the slot,
    /// held by this stream for its whole life, holds the connection strongly. Reading it through
    /// the slot cost a retain and a release per call.
    private var client: Unmanaged<HTTP2ClientConnection>
    private var id: HTTP2StreamID?
    private var pendingHead: UpstreamRequestHead?
    /// Whether `pendingHead` is set (asked on every write and flush).
    private var holdsHead = false
    private var requestEnded = false
    private var responseEnded = false
    private var readsHeld = false
    private var unconsumedBytes = 0

    init(slot: HTTP2ConnectionPool.Slot, pool: HTTP2ConnectionPool) {
        self.slot = slot
        self.client = Unmanaged.passUnretained(slot.client)
        self.pool = pool
    }

    /// Makes a finished stream's object ready for another request on `slot`: every stored
    /// property as `init` sets it. The pool calls it only once nothing else references the
    /// object (the exchange and the connection let go of it when the stream closed).
    /// Stores are made only where the old value differs: assigning nil over nil still calls
    /// swift_release. Only `pool` itself hands the object out again.
    func reuse(slot: HTTP2ConnectionPool.Slot) {
        delegates.clear()
        self.receivedResponse = false
        self.wasReused = false
        self.isAssigned = true
        if self.slot !== slot {
            self.slot = slot
            self.client = Unmanaged.passUnretained(slot.client)
        }
        self.id = nil
        // `holdsHead` says whether `pendingHead` is set.
        if holdsHead { pendingHead = nil }
        self.holdsHead = false
        self.requestEnded = false
        self.responseEnded = false
        self.readsHeld = false
        self.unconsumedBytes = 0
    }

    var isWritable: Bool {
        guard let id else { return isAssigned }
        return client._withUnsafeGuaranteedRef { $0.isWritable(stream: id) }
    }

    func beginRequest() {}

    func write(_ part: UpstreamRequestPart, promise: EventLoopPromise<Void>?) {
        do {
            switch part {
            case .head(let head):
                pendingHead = head
                holdsHead = true
                promise?.succeed(())
            case .body(.byteBuffer(let buffer)):
                let stream = try open(endStream: false)
                try client._withUnsafeGuaranteedRef { try $0.sendBody(buffer, stream: stream, promise: promise) }
            case .body(.fileRegion):
                throw HTTP2CodecError.invalidStreamState(id ?? HTTP2StreamID(0), "file regions are not sent over HTTP/2")
            case .end(let trailers):
                requestEnded = true
                let trailers = trailers.flatMap { $0.isEmpty ? nil : $0 }
                if holdsHead {
                    let stream = try open(endStream: trailers == nil)
                    if let trailers { try client._withUnsafeGuaranteedRef { try $0.sendEnd(stream: stream, trailers: trailers) } }
                } else if let id {
                    try client._withUnsafeGuaranteedRef { try $0.sendEnd(stream: id, trailers: trailers) }
                }
                promise?.succeed(())
            }
        } catch {
            promise?.fail(error)
            failSoon(error)
        }
    }

    var lentHTTP2: Unmanaged<HTTP2UpstreamStream>? { Unmanaged.passUnretained(self) }

    /// The time of the response event being handled, as its connection read the clock for it.
    var eventTime: NIODeadline { client._withUnsafeGuaranteedRef { $0.eventTime } }

    func reuseResponseFields(_ fields: consuming HeaderFields) {
        // Moved through an optional: the closure cannot consume the parameter itself.
        var handedBack: HeaderFields? = consume fields
        client._withUnsafeGuaranteedRef { client in
            if let fields = handedBack.take() { client.reuseFieldStorage(fields) }
        }
    }

    /// Sends a complete bodyless request, before anything else was written: one HEADERS frame
    /// with END_STREAM, its regular fields written straight into the header block by
    /// `writeFields` (no `UpstreamRequestHead` and no copy of the fields in between).
    func writeCompleteRequest(method: HTTPMethod, path: String, writeFields: (inout HTTP2RequestFieldWriter) -> Void) {
        requestEnded = true
        guard id == nil, !holdsHead else {
            failSoon(HTTP2CodecError.invalidStreamState(id ?? HTTP2StreamID(0), "request head written twice"))
            return
        }
        do {
            id = try client._withUnsafeGuaranteedRef { client in
                try Self.withName(of: method) { name in
                    try client.openStream(method: name, path: path, endStream: true, delegate: self, writeFields: writeFields)
                }
            }
        } catch {
            failSoon(error)
        }
    }

    func flush() {
        // nghttp2 flushes what it queued; only a head still held back needs sending.
        guard holdsHead else { return }
        do {
            _ = try open(endStream: false)
        } catch {
            failSoon(error)
        }
    }

    private func open(endStream: Bool) throws -> HTTP2StreamID {
        if let id { return id }
        // Moved out, not copied: a copy retains each of the head's strings.
        holdsHead = false
        guard var head = pendingHead.take() else { throw HTTP2CodecError.invalidStreamState(HTTP2StreamID(0), "no request head") }
        // Host becomes `:authority`; the header block drops Host and the other connection-specific
        // fields while copying the rest.
        let stream: HTTP2StreamID
        if isKnownUniquelyReferenced(&head) {
            // Nothing else holds the head (the usual case): its path and fields are moved out for
            // the call; read in place, each was retained and released around it.
            var path = ""
            swap(&path, &head.uri)
            var fields = HeaderFields()
            swap(&fields, &head.fields)
            stream = try client._withUnsafeGuaranteedRef { client in
                try Self.withName(of: head.method) { name in
                    try client.openStream(method: name, path: path, forwardedFields: fields, endStream: endStream, delegate: self)
                }
            }
        } else {
            stream = try client._withUnsafeGuaranteedRef {
                try $0.openStream(
                    method: head.method.rawValue, path: head.uri, forwardedFields: head.fields, endStream: endStream, delegate: self)
            }
        }
        id = stream
        return stream
    }

    /// Calls `body` with the method's name: the common ones as literals passed straight on, which
    /// need no release (NIO's `rawValue`, not inlinable, returned a string released after each use).
    @inline(__always)
    private static func withName<R>(of method: HTTPMethod, _ body: (String) throws -> R) rethrows -> R {
        switch method {
        case .GET: return try body("GET")
        case .POST: return try body("POST")
        case .PUT: return try body("PUT")
        case .HEAD: return try body("HEAD")
        case .DELETE: return try body("DELETE")
        default: return try body(method.rawValue)
        }
    }

    /// The stream could not be opened or written (GOAWAY raced the pool's pick): reported on the
    /// next loop tick, never from inside the exchange's own call.
    private func failSoon(_ error: any Error) {
        guard isAssigned else { return }
        if case HTTP2CodecError.connectionGoingAway = error { wasReused = true }
        if case HTTP2CodecError.streamLimitReached = error { wasReused = true }
        let loop = slot.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.execute {
            let stream = bound.value
            let delegate = stream.delegate
            stream.returnSlot()
            delegate?.upstreamFailed(.connectionTermination)
        }
    }

    // MARK: response backpressure

    func holdReads() {
        readsHeld = true
    }

    func resumeReads() {
        readsHeld = false
        if unconsumedBytes > 0, let id {
            client._withUnsafeGuaranteedRef { $0.consume(unconsumedBytes, stream: id) }
            unconsumedBytes = 0
        }
    }

    // MARK: end of the exchange

    consuming func release(reusable: Bool) {
        delegate = nil
        // The response ended before the request did: tell the server to stop reading it.
        if !requestEnded || holdsHead { resetIfOpen() }
        guard isAssigned else { return }
        isAssigned = false
        // The caller's reference is moved into the pool's spares (passed as a borrow, the pool
        // retained the stream and the caller released it, once each per request). Lent: this
        // stream holds the pool, and `handed` or the pool's spares hold the stream.
        let pool = Unmanaged.passUnretained(self.pool)
        var handed: HTTP2UpstreamStream? = consume self
        pool._withUnsafeGuaranteedRef { $0.streamFinished(handing: &handed) }
        // Emptied only when the pool kept none (spares full): dropping the nil it leaves cost a release call.
        if case .some = handed { handed = nil }
    }

    func close() {
        delegate = nil
        if !(requestEnded && responseEnded) { resetIfOpen() }
        returnSlot()
    }

    private func resetIfOpen() {
        guard let id, isAssigned else { return }
        try? client._withUnsafeGuaranteedRef { try $0.resetStream(id, code: .cancel) }
    }

    private func returnSlot() {
        guard isAssigned else { return }
        isAssigned = false
        pool.streamFinished(self)
    }

    // MARK: HTTP2ClientStreamDelegate

    func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        responseHead(status: head.status, fields: HeaderFields(head.headers), endStream: endStream, stream: stream, connection: connection)
    }

    /// The head as bytes, passed on without a string per field.
    func responseHead(status: Int, fields: consuming HeaderFields, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        receivedResponse = true
        if endStream { responseEnded = true }
        guard delegate != nil else { return }
        // Moved on through an optional (the closure cannot consume the parameter): the exchange
        // edits the fields in place.
        var head: UpstreamResponseHead? = UpstreamResponseHead(
            status: status, version: .http1_1, fields: consume fields, keepsConnectionAlive: true, endsStream: endStream,
            receivedAt: connection.eventTime, fromHTTP2: true)
        callDelegate { delegate in
            if let head = head.take() { delegate.upstreamResponseHead(head) }
        }
        // The second call goes only if the first left the delegate attached (ending the exchange
        // clears it).
        if endStream {
            callDelegate { $0.upstreamResponseEnd(trailers: nil) }
        } else {
            callDelegate { $0.upstreamReadComplete() }
        }
    }

    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        let size = chunk.readableBytes
        callDelegate { $0.upstreamResponseBody(chunk) }
        if readsHeld {
            unconsumedBytes += size
        } else {
            connection.consume(size, stream: stream)
        }
        callDelegate { $0.upstreamReadComplete() }
    }

    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        responseEnded = true
        callDelegate { $0.upstreamResponseEnd(trailers: trailers) }
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        responseEnded = true
        let delegate = self.delegate
        self.delegate = nil
        if !receivedResponse && (reset.code == .refusedStream || reset.origin == .connectionClosed) { wasReused = true }
        returnSlot()
        delegate?.upstreamFailed(Self.failure(for: reset))
    }

    /// As Envoy names the reset: a connection that closed is a termination (UC); one the codec
    /// ended because the pod broke HTTP/2 is a protocol error for every stream on it (its
    /// `CodecClient` resets them all with `ProtocolError`: 502, UPE); a stream the pod reset
    /// is a remote reset (UR, "remote reset" or "remote refused stream reset").
    static func failure(for reset: HTTP2StreamReset) -> UpstreamFailure {
        switch reset.origin {
        case .connectionClosed: return .connectionTermination
        case .protocolError: return .protocolError
        case .remote: return .streamReset(refused: reset.code == .refusedStream)
        case .local, .idleTimeout: return .remoteReset
        }
    }

    func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        if isWritable { callDelegate { $0.upstreamWritabilityChanged() } }
    }
}
