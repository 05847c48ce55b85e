import NIOCore
import NIOHTTP1

/// One body chunk the application wrote, waiting for flow-control window.
struct OutboundChunk {
    var bytes: ByteBuffer
    var promise: EventLoopPromise<Void>?
}

/// Everything the session keeps about one open stream. Lives on the connection's event loop.
final class HTTP2StreamState {
    let id: Int32

    // Inbound header block being decoded (request/response head or trailers).
    var method = ""
    var scheme = ""
    var authority = ""
    var path = ""
    var status = 0
    var headers = HTTPHeaders()
    var headerBlockBytes = 0
    var headerBlockCount = 0
    var headerBlockTooLarge = false

    // Inbound progress.
    var receivedHead = false
    var remoteEnded = false
    var receivedReset = false
    /// Body bytes delivered and not yet handed back with `consume`; returned to the connection
    /// window when the stream closes so that an application that forgets one never starves the
    /// connection.
    var unconsumedBytes = 0
    /// Idle detection: set by every inbound frame, cleared by each sweep.
    var sawActivity = true

    // Outbound progress.
    var sentHead = false
    var hasDataProvider = false
    var localEnded = false
    var trailers: HTTPHeaders?
    var deferred = false
    /// Short (a few chunks up to the high watermark); an Array allocates nothing while empty.
    var queue: [OutboundChunk] = []
    var queuedBytes = 0
    var isWritable = true
    var localResetSent = false

    /// The application no longer sees this stream (refused with 431/408 or timed out): no more
    /// events are delivered and calls on it fail with `unknownStream`.
    var detached = false
    /// Send RST_STREAM(NO_ERROR) once the final response frame is out (request still open).
    var resetAfterResponse = false

    /// Client streams: who receives the response.
    var clientDelegate: (any HTTP2ClientStreamDelegate)?

    init(id: Int32) {
        self.id = id
    }

    func beginHeaderBlock() {
        self.headers = HTTPHeaders()
        self.headerBlockBytes = 0
        self.headerBlockCount = 0
        self.headerBlockTooLarge = false
    }

    var requestHead: HTTP2RequestHead {
        HTTP2RequestHead(
            method: self.method,
            scheme: self.scheme,
            authority: self.authority,
            path: self.path,
            headers: self.headers
        )
    }

    var responseHead: HTTP2ResponseHead {
        HTTP2ResponseHead(status: self.status, headers: self.headers)
    }
}
