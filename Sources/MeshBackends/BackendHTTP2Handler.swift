import MeshHTTP2
import NIOCore
import NIOHTTP1

/// Answers the HTTP/2 streams of one h2c connection for a simulated pod: the same routes,
/// latency, error and concurrency behaviour as the HTTP/1.1 handler, stream by stream.
///
/// A gRPC request (`content-type: application/grpc…`) is answered the gRPC way: a success is
/// HTTP 200 with one length-prefixed message and `grpc-status: 0` trailers; an injected error or
/// an over-concurrency rejection is a trailers-only response (HTTP 200, `grpc-status: 14`
/// UNAVAILABLE, `grpc-message`), as a gRPC server that is failing would send it.
final class BackendHTTP2Handler: HTTP2ServerDelegate {
    /// What the answer needs of a request, read from its head when it arrives: the head itself
    /// is kept only for `/echo`, which shows it.
    private struct Stream {
        var route: BackendRoute
        var isHEAD: Bool
        var isGRPC: Bool
        var bodyBytes = 0
        var admission: Admission
        var latency: Scheduled<Void>? = nil
        /// The request head, for an echo (admitted, not gRPC) only.
        var echoHead: HTTP2RequestHead?

        /// An admitted `/echo` over HTTP: its answer shows the request head.
        static func showsHead(route: BackendRoute, isGRPC: Bool, outcome: Admission.Outcome) -> Bool {
            guard case .echo = route else { return false }
            return !isGRPC && outcome == .normal
        }
    }

    private let pod: PodCore
    /// Requests still waiting for their body or their latency, by id. Not a `Dictionary`: besides
    /// hashing each id, its in-place update (`streams[id]?.bodyBytes += n`) allocated 3 times per
    /// request with a body (counted: 4.0 against 1.0 malloc per 100-byte POST).
    private var streams = HTTP2StreamTable<Stream>()

    init(pod: PodCore) {
        self.pod = pod
    }

    /// The usual delivery: the fields stay bytes, and strings are made only for an echo.
    func requestHead(
        method: consuming String, scheme: consuming String, authority: consuming String, path: consuming String,
        fields: consuming HeaderFields,
        endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection
    ) {
        let isGRPC = Self.isGRPC(fields)
        let isHEAD = method == "HEAD"
        let route = BackendRoute.of(path: path)
        let admission = pod.admit()
        let echoHead =
            Stream.showsHead(route: route, isGRPC: isGRPC, outcome: admission.outcome)
            ? HTTP2RequestHead(method: method, scheme: scheme, authority: authority, path: path, headers: fields.httpHeaders) : nil
        // Read: their storage takes the next request head on this connection (no allocation).
        connection.reuseFieldStorage(fields)
        // Built in the call: a `Stream` in a variable was copied on the way (a retain and a release).
        start(
            Stream(route: route, isHEAD: isHEAD, isGRPC: isGRPC, admission: admission, echoHead: echoHead),
            endStream: endStream, stream: stream, connection: connection)
    }

    /// A head already in strings (a caller of the string form of the delegate).
    func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        let isGRPC = head.headers.first(name: "content-type").map { FieldName.hasLowercasePrefix($0, "application/grpc") } ?? false
        let route = BackendRoute.of(path: head.path)
        let admission = pod.admit()
        let echoHead = Stream.showsHead(route: route, isGRPC: isGRPC, outcome: admission.outcome) ? head : nil
        start(
            Stream(route: route, isHEAD: head.method == "HEAD", isGRPC: isGRPC, admission: admission, echoHead: echoHead),
            endStream: endStream, stream: stream, connection: connection)
    }

    /// gRPC is `content-type: application/grpc…` (any case), read from the first content-type.
    static func isGRPC(_ fields: HeaderFields) -> Bool {
        let contentType: StaticString = "content-type"
        guard let index = fields.firstIndex(name: contentType) else { return false }
        return fields.withField(at: index) { _, value in
            let prefix: StaticString = "application/grpc"
            let length = prefix.utf8CodeUnitCount
            return value.count >= length && FieldName.equalsLowercase(value[0..<length], prefix)
        }
    }

    /// A request that ended with its head is answered (or its latency scheduled) at once, without
    /// a trip through the table; one with a body waits there for its end.
    private func start(_ request: consuming Stream, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        if endStream {
            finish(request, stream: stream, connection: connection)
        } else {
            streams[stream] = request
        }
    }

    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        // Bodies are counted and dropped, so their bytes go back to the window at once.
        streams[stream]?.bodyBytes += chunk.readableBytes
        connection.consume(chunk.readableBytes, stream: stream)
    }

    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let request = streams.removeValue(forKey: stream) else { return }
        finish(request, stream: stream, connection: connection)
    }

    /// Answers now, or after the drawn latency; meanwhile the request waits in the table, where a
    /// reset finds it.
    private func finish(_ request: consuming Stream, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        let latency = request.admission.latencyNanoseconds
        guard latency > 0, request.admission.outcome != .rejectedOverConcurrency, let loop = connection.eventLoop else {
            respond(request, stream: stream, connection: connection)
            return
        }
        let boundConnection = NIOLoopBound(connection, eventLoop: loop)
        request.latency = loop.assumeIsolated().scheduleTask(in: .nanoseconds(latency)) { [self] in
            guard let request = streams.removeValue(forKey: stream) else { return }
            respond(request, stream: stream, connection: boundConnection.value)
        }
        streams[stream] = request
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let request = streams.removeValue(forKey: stream) else { return }
        request.latency?.cancel()
        pod.complete(request.admission, answered: false, bodyBytes: request.bodyBytes)
    }

    private func respond(_ request: borrowing Stream, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        let answers = request.admission.behavior.http2
        do {
            if request.isGRPC {
                try answerGRPC(request, answers: answers, stream: stream, connection: connection)
            } else {
                try answerHTTP(request, answers: answers, stream: stream, connection: connection)
            }
            pod.complete(request.admission, answered: true, bodyBytes: request.bodyBytes)
        } catch {
            // The stream went away while waiting (the codec reports that as a reset, which came first).
            pod.complete(request.admission, answered: false, bodyBytes: request.bodyBytes)
        }
    }

    private func answerHTTP(_ request: borrowing Stream, answers: HTTP2Answers, stream: HTTP2StreamID, connection: HTTP2ServerConnection) throws {
        switch (request.admission.outcome, request.route) {
        case (.rejectedOverConcurrency, _):
            try send(answers.overloaded, headOnly: request.isHEAD, stream: stream, connection: connection)
        case (.injectedError, _):
            try send(answers.injectedError, headOnly: request.isHEAD, stream: stream, connection: connection)
        case (.normal, .greeting):
            try send(answers.ok, headOnly: request.isHEAD, stream: stream, connection: connection)
        case (.normal, .echo):
            let behavior = request.admission.behavior
            // Always kept for an admitted HTTP echo (`Stream.showsHead`); the default only avoids a force unwrap.
            var http1 = (request.echoHead ?? HTTP2RequestHead(method: "GET", authority: "", path: "/echo")).http1
            http1.version = .http2
            let body = ResponseWriter.echoJSON(head: http1, bodyBytes: request.bodyBytes, identity: behavior.identity)
            try sendDynamic(
                status: 200, contentType: HTTP2Answers.applicationJSON, body: body, headOnly: request.isHEAD, answers: answers,
                stream: stream, connection: connection)
        case (.normal, .status(let code)):
            try sendDynamic(
                status: Int(code.code), contentType: HTTP2Answers.textPlain, body: "\(code.code) \(code.reasonPhrase)\n",
                headOnly: request.isHEAD, answers: answers, stream: stream, connection: connection)
        case (.normal, .invalidStatus):
            try sendDynamic(
                status: 400, contentType: HTTP2Answers.textPlain, body: "/status/NNN takes a status code from 200 to 599\n",
                headOnly: request.isHEAD, answers: answers, stream: stream, connection: connection)
        }
    }

    /// An answer made for this request (echo, status pages): its fields from the identity ones.
    private func sendDynamic(
        status: Int, contentType: StaticString, body: String, headOnly: Bool, answers: HTTP2Answers, stream: HTTP2StreamID,
        connection: HTTP2ServerConnection
    ) throws {
        let length = body.utf8.count
        let fields = HTTP2Answers.fields(
            identity: answers.identityFields, status: status, fault: nil, contentType: contentType, bodyLength: length)
        var buffer = ByteBuffer()
        if HTTP2Answers.allowsBody(status) && !headOnly {
            buffer = ByteBufferAllocator().buffer(capacity: length)
            buffer.writeString(body)
        }
        try send(PreparedHTTP2Response(status: status, fields: fields, body: buffer), headOnly: headOnly, stream: stream, connection: connection)
    }

    /// The head, then the body unless there is none (a HEAD request, a status without body).
    private func send(_ response: PreparedHTTP2Response, headOnly: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) throws {
        let hasBody = !headOnly && response.body.readableBytes > 0
        try connection.sendResponseHead(status: response.status, fields: response.fields, stream: stream, endStream: !hasBody)
        if hasBody { try connection.sendBody(response.body, stream: stream, endStream: true) }
    }

    private func answerGRPC(_ request: borrowing Stream, answers: HTTP2Answers, stream: HTTP2StreamID, connection: HTTP2ServerConnection) throws {
        switch request.admission.outcome {
        case .rejectedOverConcurrency:
            // Trailers-only: the status travels in the only HEADERS frame, which ends the stream.
            try connection.sendResponseHead(status: 200, fields: answers.grpcOverloaded, stream: stream, endStream: true)
        case .injectedError:
            try connection.sendResponseHead(status: 200, fields: answers.grpcInjectedError, stream: stream, endStream: true)
        case .normal:
            try connection.sendResponseHead(status: 200, fields: answers.grpcOKFields, stream: stream)
            try connection.sendBody(answers.grpcOKBody, stream: stream)
            try connection.sendEnd(stream: stream, trailers: HTTP2Answers.grpcOKTrailers)
        }
    }
}

/// The gRPC status codes the simulated pods answer with.
enum GRPCStatus {
    static let ok = 0
    static let unavailable = 14
}
