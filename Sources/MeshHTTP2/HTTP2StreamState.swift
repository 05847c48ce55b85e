import NIOCore
import NIOHTTP1

/// One body chunk the application wrote, waiting for flow-control window.
struct OutboundChunk {
    var bytes: ByteBuffer
    var promise: EventLoopPromise<Void>?
}

/// A stream's chunks waiting for window, oldest first. The first is held inline: most
/// responses are one chunk, and an array would allocate for it on every stream.
struct OutboundQueue {
    private var head: OutboundChunk?
    /// Chunks behind the head, from `restStart` on.
    private var rest: [OutboundChunk] = []
    private var restStart = 0

    var isEmpty: Bool { head == nil }

    /// Whether this is what `OutboundQueue()` makes (no chunk, no storage kept for more).
    var isPristine: Bool { head == nil && restStart == 0 && rest.capacity == 0 }

    mutating func append(_ chunk: OutboundChunk) {
        if head == nil {
            head = chunk
        } else {
            rest.append(chunk)
        }
    }

    /// Moves the first chunk out (no copy of its bytes and promise); the next one becomes first.
    mutating func takeFirst() -> OutboundChunk? {
        guard let taken = head.take() else { return nil }
        if restStart < rest.count {
            head = rest[restStart]
            restStart += 1
            if restStart == rest.count {
                rest.removeAll(keepingCapacity: true)
                restStart = 0
            }
        }
        return taken
    }

    /// Puts a taken chunk back in front, with what is left of it.
    mutating func putBackFirst(_ chunk: consuming OutboundChunk) {
        if let current = head.take() {
            // Rare: the taken chunk had a successor; it goes back behind the returned one.
            if restStart > 0 {
                restStart -= 1
                rest[restStart] = current
            } else {
                rest.insert(current, at: 0)
            }
        }
        head = chunk
    }

    /// Removes every chunk, returning their promises (to fail them).
    mutating func removeAll() -> [EventLoopPromise<Void>] {
        var promises: [EventLoopPromise<Void>] = []
        if let promise = head?.promise { promises.append(promise) }
        for index in restStart..<rest.count {
            if let promise = rest[index].promise { promises.append(promise) }
        }
        head = nil
        rest.removeAll()
        restStart = 0
        return promises
    }
}

/// Everything the session keeps about one open stream. Lives on the connection's event loop.
/// Stored properties skip dynamic exclusivity checks: the state is touched only on the event
/// loop and never passed inout across a call that could touch it again (measured: the checks
/// were about a tenth of the server's CPU).
final class HTTP2StreamState {
    /// Set again when the session reuses the object for a new stream (`NGHTTP2Session.makeStream`).
    @exclusivity(unchecked) private(set) var id: Int32

    // The latest inbound header block (request/response head or trailers), moved here from the
    // session's `InboundHeaderBlock` when its HEADERS frame completed. Optional, nil until a block
    // brings them and again once the application took them: values are then moved in and out
    // without a release of the old one (storing over a plain `""` still called release).
    @exclusivity(unchecked) var method: String?
    @exclusivity(unchecked) var scheme: String?
    @exclusivity(unchecked) var authority: String?
    @exclusivity(unchecked) var path: String?
    @exclusivity(unchecked) var status = 0
    /// The block's regular fields, kept as bytes (the proxy forwards a request or response head
    /// without making a string per field); pseudo-headers go to the properties above.
    @exclusivity(unchecked) var fieldBytes: HeaderFields?
    /// The latest block went over the header list size or count limit (its fields were dropped).
    @exclusivity(unchecked) var headerBlockTooLarge = false

    // Inbound progress.
    @exclusivity(unchecked) var receivedHead = false
    @exclusivity(unchecked) var remoteEnded = false
    @exclusivity(unchecked) var receivedReset = false
    /// Body bytes delivered and not yet handed back with `consume`; returned to the connection
    /// window when the stream closes so that an application that forgets one never starves the
    /// connection.
    @exclusivity(unchecked) var unconsumedBytes = 0
    /// Idle detection: set by every inbound frame, cleared by each sweep.
    @exclusivity(unchecked) var sawActivity = true

    // Outbound progress.
    @exclusivity(unchecked) var sentHead = false
    @exclusivity(unchecked) var hasDataProvider = false
    @exclusivity(unchecked) var localEnded = false
    @exclusivity(unchecked) var trailers: HTTPHeaders?
    @exclusivity(unchecked) var deferred = false
    /// Short (a few chunks up to the high watermark).
    @exclusivity(unchecked) var queue = OutboundQueue()
    @exclusivity(unchecked) var queuedBytes = 0
    @exclusivity(unchecked) var isWritable = true
    @exclusivity(unchecked) var localResetSent = false

    /// The application no longer sees this stream (refused with 431/408 or timed out): no more
    /// events are delivered and calls on it fail with `unknownStream`.
    @exclusivity(unchecked) var detached = false
    /// Send RST_STREAM(NO_ERROR) once the final response frame is out (request still open).
    @exclusivity(unchecked) var resetAfterResponse = false

    /// Client streams: who receives the response.
    @exclusivity(unchecked) var clientDelegate: (any HTTP2ClientStreamDelegate)?

    init(id: Int32) {
        self.id = id
    }

    /// Makes a closed stream's object a fresh one for stream `id`: every stored property back
    /// to its initial value (a property added above must be reset here too). Only the session
    /// calls it, on an object no one else references.
    /// A property already at its initial value is left alone: most are (the strings and fields
    /// were moved out to the application, the queue drained, the delegate dropped at close), and
    /// storing over them cost a call to release the old value each, a dozen per stream.
    func reuse(id: Int32) {
        self.id = id
        if self.method != nil { self.method = nil }
        if self.scheme != nil { self.scheme = nil }
        if self.authority != nil { self.authority = nil }
        if self.path != nil { self.path = nil }
        self.status = 0
        if self.fieldBytes != nil { self.fieldBytes = nil }
        self.headerBlockTooLarge = false
        self.receivedHead = false
        self.remoteEnded = false
        self.receivedReset = false
        self.unconsumedBytes = 0
        self.sawActivity = true
        self.sentHead = false
        self.hasDataProvider = false
        self.localEnded = false
        if self.trailers != nil { self.trailers = nil }
        self.deferred = false
        if !self.queue.isPristine { self.queue = OutboundQueue() }
        self.queuedBytes = 0
        self.isWritable = true
        self.localResetSent = false
        self.detached = false
        self.resetAfterResponse = false
        if self.clientDelegate != nil { self.clientDelegate = nil }
    }

    /// `slot = value` for a slot that is nil on the usual path: there the compiler knows the old
    /// value holds nothing to release (a plain assignment calls release even on nil).
    @inline(__always)
    static func fill<Value>(_ slot: inout Value?, with value: consuming Value) {
        if slot == nil { slot = value } else { slot = value }
    }

    /// The block's fields as strings (trailers), or set from strings (an upgrade request).
    var headers: HTTPHeaders {
        get { self.fieldBytes?.httpHeaders ?? HTTPHeaders() }
        set { self.fieldBytes = HeaderFields(newValue) }
    }

    /// The decoded head's fields, moved out (the state keeps none), so the receiver owns them
    /// uniquely and can edit them without a copy.
    func takeFields() -> HeaderFields {
        self.fieldBytes.take() ?? HeaderFields()
    }
}
