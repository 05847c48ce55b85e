import MeshHTTP2
import NIOCore
import NIOHTTP1

/// The HTTP/2 server side of one downstream connection: every request stream becomes an
/// `Exchange`, routed and forwarded exactly as an HTTP/1.1 request is. One instance per
/// connection, on its event loop.
final class HTTP2DownstreamConnection: HTTP2ServerDelegate {
    let worker: Worker
    let remoteIP: String
    private var streams = HTTP2StreamTable<HTTP2DownstreamStream>()
    /// Stream objects that closed with nothing else holding them (their exchange gone), reset
    /// and handed to the next requests: each otherwise cost a malloc and a free per request.
    /// They hold no strong reference to the connection (`markClosed()` dropped it), so keeping
    /// them here makes no cycle.
    private var spareStreams: [HTTP2DownstreamStream] = []
    /// Enough for a client's usual concurrency (nghttp2's default limit is 100 streams; most
    /// clients keep far fewer open).
    private static let maxSpareStreams = 32

    init(worker: Worker, remoteIP: String) {
        self.worker = worker
        self.remoteIP = remoteIP
    }

    /// The codec hands every head over as bytes (below); this string form is not used.
    func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        self.requestHead(
            method: head.method, scheme: head.scheme, authority: head.authority, path: head.path,
            fields: HeaderFields(head.headers), endStream: endStream, stream: stream, connection: connection)
    }

    func requestHead(
        method: consuming String, scheme: consuming String, authority: consuming String, path: consuming String,
        fields: consuming HeaderFields,
        endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection
    ) {
        // The pseudo-headers' share now (the strings move into the head), the fields' from the
        // head's index, which counts them in its pass (before it adds Host).
        let pseudoHeadersSize = Exchange.requestHeadListSize(method: method, authority: authority, path: path, fieldsListSize: 0)
        let head = DownstreamRequestHead(http2Method: method, authority: authority, path: path, fields: fields)
        let headListSize = pseudoHeadersSize + head.known.headerListSize
        let downstream = makeStream(id: stream, connection: connection)
        // The table holds the stream from the next line on, and nothing below takes it out
        // before the exchange is stored in it: lent for that, the local moves into the exchange
        // (kept to the end, it cost a retain and a release per request).
        let lentDownstream = Unmanaged.passUnretained(downstream)
        streams[stream] = downstream
        worker.stats.downstream.activeRequests += 1
        let exchange = Exchange(
            worker: worker, stream: consume downstream, head: consume head, endStream: endStream, startTime: connection.eventTime)
        exchange.requestHeadListSize = headListSize
        lentDownstream._withUnsafeGuaranteedRef { $0.exchange.fill(with: exchange) }
        // A stream its HEADERS ended is complete from the start (see Exchange.init).
        exchange.start()
    }

    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let exchange = streams[stream]?.exchange else {
            // Answered already: the bytes go nowhere, but the client's window comes back.
            connection.consume(chunk.readableBytes, stream: stream)
            return
        }
        exchange.receiveBody(chunk)
    }

    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        streams[stream]?.exchange?.receiveEnd(trailers: trailers)
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let downstream = streams.removeValue(forKey: stream) else { return }
        downstream.markClosed()
        if let exchange = downstream.exchange {
            // The client cancelled (or the connection went): the upstream request goes too.
            downstream.exchange = nil
            worker.stats.downstream.activeRequests -= 1
            switch reset.origin {
            case .remote: exchange.downstreamClosed(.remoteReset)
            case .protocolError: exchange.downstreamClosed(.protocolError)
            case .idleTimeout: exchange.downstreamClosed(.streamIdleTimeout)
            case .local, .connectionClosed: exchange.downstreamClosed(.connectionTermination)
            }
        }
        recycle(downstream)
    }

    func streamWritabilityChanged(_ isWritable: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        streams[stream]?.exchange?.downstreamWritabilityChanged()
    }

    /// Counted as Envoy's `downstream_cx_protocol_error` (its codec error ends the connection too).
    func connectionEndedByMalformedRequest(_ connection: HTTP2ServerConnection) {
        worker.stats.downstream.protocolErrors += 1
    }

    func streamClosed(_ stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let downstream = streams.removeValue(forKey: stream) else { return }
        downstream.markClosed()
        if let exchange = downstream.exchange {
            downstream.exchange = nil
            worker.stats.downstream.activeRequests -= 1
            exchange.downstreamClosed()
        }
        recycle(downstream)
    }

    /// A stream object for new stream `id`: a spare one reset, or a new one.
    private func makeStream(id: HTTP2StreamID, connection: HTTP2ServerConnection) -> HTTP2DownstreamStream {
        guard !spareStreams.isEmpty else { return HTTP2DownstreamStream(id: id, connection: connection, owner: self) }
        // `removeLast`, not `popLast`: the generic `popLast` was a call of its own (0.013 us per
        // request in the profile); Array's `removeLast` inlines.
        let spare = spareStreams.removeLast()
        spare.reuse(id: id, connection: connection)
        return spare
    }

    /// Keeps a closed stream's object for a later stream when nothing else references it: an
    /// exchange, a pending write's callback or anyone else still holding it keeps it to itself.
    private func recycle(_ downstream: consuming HTTP2DownstreamStream) {
        var downstream = downstream
        guard spareStreams.count < Self.maxSpareStreams, isKnownUniquelyReferenced(&downstream) else { return }
        // Moved in: appended as a copy, it was retained here and the local released after.
        spareStreams.append(consume downstream)
    }

    fileprivate func finished(_ downstream: HTTP2DownstreamStream) {
        worker.stats.downstream.activeRequests -= 1
    }
}

/// One request stream of an HTTP/2 downstream connection, as its exchange sees it.
final class HTTP2DownstreamStream: ExchangeDownstream {
    /// Set again when the connection reuses the object for a new stream (`reuse(id:connection:)`).
    /// Unchecked exclusivity, as `lentConnection`: written only there, on the event loop, while
    /// nothing else holds the object (it was a `let`, read on every call, before reuse).
    @exclusivity(unchecked) private(set) var id: HTTP2StreamID
    /// Strong while the stream is open, dropped by `markClosed()` (the connection closes every
    /// stream it still has before it goes): a weak or unowned reference would cost an atomic
    /// side-table operation on every use, and these are used several times per request.
    private var connection: HTTP2ServerConnection?
    /// The same connection, lent to each call without a retain (`_withUnsafeGuaranteedRef`) and
    /// used only while the stream is not `closed`, that is while `connection` holds it: reading
    /// the optional for a call retained and released it.
    @exclusivity(unchecked) private var lentConnection: Unmanaged<HTTP2ServerConnection>
    /// Unmanaged: the connection holds its delegate (`owner`) strongly for its whole life, and
    /// this stream holds the connection until `markClosed()`, after which `owner` is never read.
    /// A strong reference cost a retain and a release per request, and so did reading an
    /// `unowned(unsafe)` one (a strong copy for the call).
    private let owner: Unmanaged<HTTP2DownstreamConnection>
    var exchange: Exchange?
    private(set) var closed = false
    /// Copied: the exchange may still log the request after the connection went.
    let remoteIP: String

    init(id: HTTP2StreamID, connection: HTTP2ServerConnection, owner: HTTP2DownstreamConnection) {
        self.id = id
        self.connection = connection
        self.lentConnection = Unmanaged.passUnretained(connection)
        self.owner = Unmanaged.passUnretained(owner)
        self.remoteIP = owner.remoteIP
    }

    /// Makes a closed stream's object a fresh one for stream `id` of `connection` (its owner's,
    /// as before): every stored property that changes over a stream's life back to its initial
    /// value (a property added above must be reset here too; `owner` and `remoteIP` are the
    /// connection's). Only the owner calls it, on an object no one else references.
    func reuse(id: HTTP2StreamID, connection: HTTP2ServerConnection) {
        self.id = id
        // Both nil on a recycled object (`markClosed()`, `exchangeFinished`): stored without the
        // release of a nil that a plain assignment makes.
        self.connection.fill(with: connection)
        self.lentConnection = Unmanaged.passUnretained(connection)
        if self.exchange != nil { self.exchange = nil }
        self.closed = false
    }

    /// The stream left the connection: no more calls reach it, and the references that made a
    /// cycle (connection → delegate → stream → connection) go.
    func markClosed() {
        closed = true
        connection = nil
    }

    var isWritable: Bool { !closed && lentConnection._withUnsafeGuaranteedRef { $0.isWritable(stream: id) } }
    var queuedBytes: Int { closed ? 0 : lentConnection._withUnsafeGuaranteedRef { $0.outboundQueuedBytes } }
    var allocator: ByteBufferAllocator { Self.sharedAllocator }
    var wireBytes: (received: Int, sent: Int)? { nil }
    private static let sharedAllocator = ByteBufferAllocator()

    func write(_ buffer: ByteBuffer) {}
    func flush() {}
    func resumeReadingIfWanted() {}

    func exchangeFinished(_ finished: Exchange, closeConnection: Bool) {
        guard exchange === finished else { return }
        exchange = nil
        // A request body still arriving is read and its window handed back (`requestBody`
        // with no exchange). No RST_STREAM(NO_ERROR): nghttp2 would send it ahead of queued
        // DATA and cut the answer short. A closed stream's owner may be gone (and counted the
        // request when it closed the stream).
        guard !closed else { return }
        owner._withUnsafeGuaranteedRef { $0.finished(self) }
    }

    func abort() {
        guard !closed else { return }
        try? lentConnection._withUnsafeGuaranteedRef { try $0.resetStream(id, code: .internalError) }
    }

    // MARK: the response

    func sendHead(status: Int, fields: HeaderFields, endStream: Bool) {
        guard !closed else { return }
        try? lentConnection._withUnsafeGuaranteedRef {
            try $0.sendResponseHead(status: status, fields: fields, stream: id, endStream: endStream)
        }
    }

    /// Sends a head whose fields `writeFields` writes into the header block, values inside
    /// `fields`' storage lent (`HTTP2ResponseFieldWriter`).
    func sendHead(
        status: Int, lending fields: borrowing HeaderFields, endStream: Bool, writeFields: (inout HTTP2ResponseFieldWriter) -> Void
    ) {
        guard !closed else { return }
        try? lentConnection._withUnsafeGuaranteedRef {
            try $0.sendResponseHead(status: status, lending: fields, stream: id, endStream: endStream, writeFields: writeFields)
        }
    }

    func sendBody(_ buffer: ByteBuffer, endStream: Bool = false) {
        guard !closed else { return }
        try? lentConnection._withUnsafeGuaranteedRef { try $0.sendBody(buffer, stream: id, endStream: endStream) }
    }

    func sendEnd(trailers: HTTPHeaders?) {
        guard !closed else { return }
        try? lentConnection._withUnsafeGuaranteedRef { try $0.sendEnd(stream: id, trailers: trailers) }
    }

    /// Returns request body bytes to the client's windows (once the upstream took them).
    func consume(_ bytes: Int) {
        guard !closed, bytes > 0 else { return }
        lentConnection._withUnsafeGuaranteedRef { $0.consume(bytes, stream: id) }
    }
}
