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
    private struct Stream {
        var head: HTTP2RequestHead
        var bodyBytes = 0
        var admission: Admission
        var latency: Scheduled<Void>?
    }

    private let pod: PodCore
    private var streams: [HTTP2StreamID: Stream] = [:]

    init(pod: PodCore) {
        self.pod = pod
    }

    func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        streams[stream] = Stream(head: head, admission: pod.admit())
        if endStream { requestEnd(trailers: nil, stream: stream, connection: connection) }
    }

    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        // Bodies are counted and dropped, so their bytes go back to the window at once.
        streams[stream]?.bodyBytes += chunk.readableBytes
        connection.consume(chunk.readableBytes, stream: stream)
    }

    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let request = streams[stream] else { return }
        let latency = request.admission.latencyNanoseconds
        guard latency > 0, request.admission.outcome != .rejectedOverConcurrency, let loop = connection.eventLoop else {
            answer(stream: stream, connection: connection)
            return
        }
        let boundConnection = NIOLoopBound(connection, eventLoop: loop)
        streams[stream]?.latency = loop.assumeIsolated().scheduleTask(in: .nanoseconds(latency)) { [self] in
            answer(stream: stream, connection: boundConnection.value)
        }
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let request = streams.removeValue(forKey: stream) else { return }
        request.latency?.cancel()
        pod.complete(request.admission, answered: false, bodyBytes: request.bodyBytes)
    }

    private func answer(stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let request = streams.removeValue(forKey: stream) else { return }
        let behavior = request.admission.behavior
        let isGRPC = request.head.headers.first(name: "content-type")?.lowercased().hasPrefix("application/grpc") ?? false
        do {
            if isGRPC {
                try answerGRPC(request, behavior: behavior, stream: stream, connection: connection)
            } else {
                try answerHTTP(request, behavior: behavior, stream: stream, connection: connection)
            }
            pod.complete(request.admission, answered: true, bodyBytes: request.bodyBytes)
        } catch {
            // The stream went away while waiting (the codec reports that as a reset, which came first).
            pod.complete(request.admission, answered: false, bodyBytes: request.bodyBytes)
        }
    }

    private func answerHTTP(_ request: Stream, behavior: PodBehavior, stream: HTTP2StreamID, connection: HTTP2ServerConnection) throws {
        let status: Int
        var extra: [(String, String)] = []
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]
        switch (request.admission.outcome, BackendRoute(path: request.head.path)) {
        case (.rejectedOverConcurrency, _):
            status = 503
            extra.append(("x-meshsim-fault", "max-concurrency"))
            body = Array("pod \(behavior.identity.pod) is over its max-concurrency of \(behavior.profile.maxConcurrency ?? 0)\n".utf8)
        case (.injectedError, _):
            status = behavior.profile.errorCode
            extra.append(("x-meshsim-fault", "error-rate"))
            body = Array("injected error \(behavior.profile.errorCode) from pod \(behavior.identity.pod)\n".utf8)
        case (.normal, .greeting):
            status = 200
            body = behavior.greetingBytes
        case (.normal, .echo):
            status = 200
            contentType = "application/json"
            var http1 = request.head.http1
            http1.version = .http2
            body = Array(ResponseWriter.echoJSON(head: http1, bodyBytes: request.bodyBytes, identity: behavior.identity).utf8)
        case (.normal, .status(let code)):
            status = Int(code.code)
            body = Array("\(code.code) \(code.reasonPhrase)\n".utf8)
        case (.normal, .invalidStatus):
            status = 400
            body = Array("/status/NNN takes a status code from 200 to 599\n".utf8)
        }
        var headers = identityHeaders(behavior)
        headers.add(contentsOf: extra)
        let allowsBody = ResponseWriter.allowsBody(HTTPResponseStatus(statusCode: status))
        let headOnly = request.head.method == "HEAD"
        if allowsBody {
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "content-length", value: String(body.count))
        }
        guard allowsBody, !headOnly else {
            try connection.sendResponseHead(HTTP2ResponseHead(status: status, headers: headers), stream: stream, endStream: true)
            return
        }
        var buffer = ByteBufferAllocator().buffer(capacity: body.count)
        buffer.writeBytes(body)
        try connection.sendResponse(HTTP2ResponseHead(status: status, headers: headers), body: buffer, trailers: nil, stream: stream)
    }

    private func answerGRPC(_ request: Stream, behavior: PodBehavior, stream: HTTP2StreamID, connection: HTTP2ServerConnection) throws {
        var headers = identityHeaders(behavior)
        headers.add(name: "content-type", value: "application/grpc")
        let failure: (fault: String, message: String)?
        switch request.admission.outcome {
        case .rejectedOverConcurrency:
            failure = ("max-concurrency", "pod \(behavior.identity.pod) is over its max-concurrency of \(behavior.profile.maxConcurrency ?? 0)")
        case .injectedError:
            failure = ("error-rate", "injected error from pod \(behavior.identity.pod)")
        case .normal:
            failure = nil
        }
        if let failure {
            // Trailers-only: the status travels in the only HEADERS frame, which ends the stream.
            headers.add(name: "x-meshsim-fault", value: failure.fault)
            headers.add(name: "grpc-status", value: String(GRPCStatus.unavailable))
            headers.add(name: "grpc-message", value: GRPCMessage.percentEncoded(failure.message))
            try connection.sendResponseHead(HTTP2ResponseHead(status: 200, headers: headers), stream: stream, endStream: true)
            return
        }
        let message = behavior.greetingBytes
        var body = ByteBufferAllocator().buffer(capacity: 5 + message.count)
        body.writeInteger(UInt8(0))  // not compressed
        body.writeInteger(UInt32(message.count))
        body.writeBytes(message)
        try connection.sendResponse(
            HTTP2ResponseHead(status: 200, headers: headers), body: body, trailers: ["grpc-status": "0"], stream: stream)
    }

    private func identityHeaders(_ behavior: PodBehavior) -> HTTPHeaders {
        [
            "x-meshsim-workload": PodBehavior.headerSafe(behavior.identity.workload),
            "x-meshsim-version": PodBehavior.headerSafe(behavior.identity.version),
            "x-meshsim-pod": PodBehavior.headerSafe(behavior.identity.pod),
        ]
    }
}

/// The gRPC status codes the simulated pods answer with.
enum GRPCStatus {
    static let ok = 0
    static let unavailable = 14
}
