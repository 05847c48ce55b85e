import NIOCore
import NIOHTTP1

/// Answers the HTTP/1.1 requests of one connection for a simulated pod.
///
/// It sits right above NIO's request decoder and writes response bytes itself (no response
/// encoder, no `HTTPServerPipelineHandler`). Pipelined requests are answered in order: while one
/// is being answered, the ones behind it wait in a queue that keeps only their head and a count
/// of body bytes (bodies are counted, never kept), and reading pauses only if that queue grows
/// long, so an ordinary keep-alive connection never toggles read interest.
///
/// A WebSocket handshake whose answer would be a 2xx is answered `101 Switching Protocols`, and
/// the connection then becomes a `WebSocketEchoHandler`'s (this handler leaves the pipeline).
final class BackendConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent down the pipeline when the pod stops with a grace period: finish what was asked,
    /// then close.
    struct Drain: Sendable {}

    /// Requests parsed ahead of the one being answered before reading pauses.
    static let maximumQueuedRequests = 16

    private struct Request {
        var head: HTTPRequestHead
        var route: BackendRoute
        var keepAlive: Bool
        var isHEAD: Bool
        var expectsContinue: Bool
        /// Set when the request asks for a WebSocket.
        var webSocket: WebSocketHandshake?
        /// NIO's decoder parses nothing after this request (an upgrade or CONNECT), so its
        /// connection closes after the answer unless it becomes a WebSocket.
        var stopsHTTPParsing: Bool
        var bodyBytes = 0
        var ended = false
        var admission: Admission? = nil
        var waitingForLatency = false
        var latencyElapsed = false
    }

    private let pod: PodCore
    private var current: Request?
    private var queued = CircularBuffer<Request>(initialCapacity: 4)
    private var latencyTask: Scheduled<Void>?
    private var inReadCycle = false
    private var needsFlush = false
    private var readHeldBack = false
    private var inputClosed = false
    private var parseFailed = false
    private var closing = false
    private var draining = false
    private var upgraded = false

    init(pod: PodCore) {
        self.pod = pod
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inReadCycle = true
        guard !closing, !parseFailed else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            let request = Request(
                head: head, route: BackendRoute.of(path: head.uri), keepAlive: head.isKeepAlive, isHEAD: head.method == .HEAD,
                expectsContinue: head.headers.contains(name: "expect")
                    && head.headers["expect"].contains { $0.lowercased() == "100-continue" },
                webSocket: WebSocketHandshake(head), stopsHTTPParsing: WebSocketHandshake.stopsHTTPParsing(head))
            if current == nil {
                current = request
                advance(context: context)
            } else {
                queued.append(request)
            }
        case .body(let body):
            if !queued.isEmpty {
                queued[queued.index(before: queued.endIndex)].bodyBytes += body.readableBytes
            } else {
                current?.bodyBytes += body.readableBytes
            }
        case .end:
            if !queued.isEmpty {
                queued[queued.index(before: queued.endIndex)].ended = true
            } else if current != nil {
                current?.ended = true
                advance(context: context)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadCycle = false
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // The client will send nothing more: answer what it asked, then close.
            inputClosed = true
            advance(context: context)
            return
        }
        if event is Drain {
            draining = true
            advance(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is HTTPParserError else {
            // An I/O error: the connection is gone or unusable.
            closing = true
            context.close(promise: nil)
            return
        }
        guard !parseFailed else { return }
        parseFailed = true
        pod.recordMalformedRequest()
        // A request whose bytes stopped parsing midway gets no answer of its own; the ones
        // complete before it are still answered, then a 400 and close.
        if let last = queued.last, !last.ended {
            queued.removeLast()
        } else if let request = current, !request.ended {
            if let admission = request.admission { pod.complete(admission, answered: false, bodyBytes: request.bodyBytes) }
            current = nil
            latencyTask?.cancel()
            latencyTask = nil
        }
        advance(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        latencyTask?.cancel()
        latencyTask = nil
        if let request = current, let admission = request.admission {
            pod.complete(admission, answered: false, bodyBytes: request.bodyBytes)
        }
        current = nil
        queued.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if queued.count >= Self.maximumQueuedRequests || closing {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    // MARK: Answering

    /// Moves the connection forward as far as it can: admits the next request, waits for its
    /// body and its latency, answers, and repeats; at idle, closes if the connection is done.
    private func advance(context: ChannelHandlerContext) {
        while !closing && !upgraded {
            if current == nil {
                guard let next = queued.popFirst() else { break }
                current = next
                if readHeldBack && queued.count < Self.maximumQueuedRequests {
                    readHeldBack = false
                    context.read()
                }
            }
            guard var request = current else { break }
            if request.admission == nil {
                request.admission = pod.admit()
                if request.expectsContinue && !request.ended {
                    context.write(wrapOutboundOut(ResponseWriter.continueHead), promise: nil)
                    needsFlush = true
                }
                current = request
            }
            guard request.ended, !request.waitingForLatency, let admission = request.admission else { break }
            if admission.latencyNanoseconds > 0 && !request.latencyElapsed {
                current?.waitingForLatency = true
                scheduleLatency(admission.latencyNanoseconds, context: context)
                break
            }
            answer(request, admission: admission, context: context)
        }
        if upgraded { return }
        if current == nil && queued.isEmpty && !closing {
            if parseFailed {
                let behavior = pod.behavior
                let response = ResponseWriter.render(
                    status: .badRequest, behavior: behavior, body: "malformed HTTP/1.1 request\n", keepAlive: false,
                    headOnly: false, allocator: context.channel.allocator)
                closeAfterWriting(response, context: context)
            } else if inputClosed || draining {
                closeAfterWriting(nil, context: context)
            }
        }
        flushIfNeeded(context: context)
    }

    private func scheduleLatency(_ nanoseconds: Int64, context: ChannelHandlerContext) {
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        latencyTask = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in
            latencyTask = nil
            guard current != nil else { return }
            current?.waitingForLatency = false
            current?.latencyElapsed = true
            advance(context: loopBoundContext.value)
        }
    }

    private func answer(_ request: Request, admission: Admission, context: ChannelHandlerContext) {
        let behavior = admission.behavior
        // A draining pod ignores the upgrade (RFC 9110 §7.8 lets a server): it is about to close.
        if let handshake = request.webSocket, admission.outcome == .normal, request.route.answersSuccess, !draining {
            answerWebSocket(request, handshake: handshake, admission: admission, context: context)
            return
        }
        let keepAlive = request.keepAlive && !parseFailed && !draining && !request.stopsHTTPParsing
        let response: ByteBuffer
        switch (admission.outcome, request.route) {
        case (.rejectedOverConcurrency, _):
            response = behavior.overloaded.bytes(keepAlive: keepAlive, headOnly: request.isHEAD)
        case (.injectedError, _):
            response = behavior.injectedError.bytes(keepAlive: keepAlive, headOnly: request.isHEAD)
        case (.normal, .greeting):
            response = behavior.ok.bytes(keepAlive: keepAlive, headOnly: request.isHEAD)
        case (.normal, .echo):
            response = ResponseWriter.render(
                status: .ok, behavior: behavior, contentType: "application/json",
                body: ResponseWriter.echoJSON(head: request.head, bodyBytes: request.bodyBytes, identity: behavior.identity),
                keepAlive: keepAlive, headOnly: request.isHEAD, allocator: context.channel.allocator)
        case (.normal, .status(let status)):
            response = ResponseWriter.render(
                status: status, behavior: behavior, body: "\(status.code) \(status.reasonPhrase)\n", keepAlive: keepAlive,
                headOnly: request.isHEAD, allocator: context.channel.allocator)
        case (.normal, .invalidStatus):
            response = ResponseWriter.render(
                status: .badRequest, behavior: behavior, body: "/status/NNN takes a status code from 200 to 599\n",
                keepAlive: keepAlive, headOnly: request.isHEAD, allocator: context.channel.allocator)
        }
        current = nil
        pod.complete(admission, answered: true, bodyBytes: request.bodyBytes)
        if keepAlive {
            context.write(wrapOutboundOut(response), promise: nil)
            needsFlush = true
        } else {
            closeAfterWriting(response, context: context)
        }
    }

    /// Answers a WebSocket handshake whose plain answer would have been a 2xx: 101 and the switch
    /// to the echo, or the handshake's 400/426 and close. Counted as an answered request either way.
    private func answerWebSocket(
        _ request: Request, handshake: WebSocketHandshake, admission: Admission, context: ChannelHandlerContext
    ) {
        current = nil
        switch handshake {
        case .reject(let status, let body, let extraHeaders):
            pod.complete(admission, answered: true, bodyBytes: request.bodyBytes)
            let response = ResponseWriter.render(
                status: status, behavior: admission.behavior, extraHeaders: extraHeaders, body: body, keepAlive: false,
                headOnly: request.isHEAD, allocator: context.channel.allocator)
            closeAfterWriting(response, context: context)
        case .accept(let acceptValue):
            pod.complete(admission, answered: true, bodyBytes: request.bodyBytes, upgradedToWebSocket: true)
            upgraded = true
            needsFlush = false
            let response = WebSocketHandshake.switchingProtocolsResponse(
                acceptValue: acceptValue, behavior: admission.behavior, allocator: context.channel.allocator)
            context.writeAndFlush(wrapOutboundOut(response), promise: nil)
            // A read this handler held back is owed to the channel before the handler goes.
            if readHeldBack {
                readHeldBack = false
                context.read()
            }
            do {
                try WebSocketEchoHandler.install(replacing: context)
            } catch {
                // The pipeline is not the one SimulatedBackend builds: nothing can carry the session.
                closing = true
                context.close(promise: nil)
            }
        }
    }

    private func closeAfterWriting(_ response: ByteBuffer?, context: ChannelHandlerContext) {
        closing = true
        queued.removeAll()
        needsFlush = false
        // Close only once every answer written before is on the wire: closing fails pending
        // writes, so even with nothing to add, an empty write marks the point to close at.
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(response ?? channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        // Inside a read cycle, channelReadComplete flushes once for every answer of the batch.
        guard needsFlush, !inReadCycle else { return }
        needsFlush = false
        context.flush()
    }
}

/// What a simulated pod serves at a path: the greeting, `/echo`, or `/status/NNN`.
enum BackendRoute {
    case greeting
    case echo
    case status(HTTPResponseStatus)
    case invalidStatus

    /// Whether the pod's answer at this path is a 2xx (the answers a WebSocket handshake replaces with 101).
    var answersSuccess: Bool {
        switch self {
        case .greeting, .echo: return true
        case .status(let status): return (200..<300).contains(status.code)
        case .invalidStatus: return false
        }
    }

    /// The route of a request target, read in one pass over its bytes: no slicing, and no
    /// generic sequence algorithm over the string's UTF-8 view (each retained the string, 3
    /// retains per request). A function rather than an initializer, which would take the string
    /// owned (a retain).
    static func of(path uri: String) -> BackendRoute {
        let echo: StaticString = "/echo"
        let statusPrefix: StaticString = "/status/"
        var length = 0  // of the path, up to the query
        var isEcho = true
        var hasStatusPrefix = true
        var code = 0
        var digits = 0
        var allDigits = true
        for byte in uri.utf8 {
            if byte == UInt8(ascii: "?") { break }
            isEcho = isEcho && length < echo.utf8CodeUnitCount && byte == echo.utf8Start[length]
            if length < statusPrefix.utf8CodeUnitCount {
                hasStatusPrefix = hasStatusPrefix && byte == statusPrefix.utf8Start[length]
            } else if hasStatusPrefix {
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    if digits < 3 { code = code * 10 + Int(byte - UInt8(ascii: "0")) }
                } else {
                    allDigits = false
                }
                digits += 1
            }
            length += 1
        }
        if isEcho && length == echo.utf8CodeUnitCount { return .echo }
        guard hasStatusPrefix && length >= statusPrefix.utf8CodeUnitCount else { return .greeting }
        guard digits == 3, allDigits, (200...599).contains(code) else { return .invalidStatus }
        return .status(HTTPResponseStatus(statusCode: code))
    }
}
