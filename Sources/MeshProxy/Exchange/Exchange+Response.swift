import MeshConfig
import MeshHTTP2
import MeshRouting
import NIOCore
import NIOHTTP1

/// The response side: upstream events, the downstream head, streaming, local replies.
extension Exchange: UpstreamConnectionDelegate {
    func upstreamResponseHead(_ upstreamHead: consuming UpstreamResponseHead) {
        guard !finished else { return }
        reportOutlierResponse(upstreamHead)
        let status = upstreamHead.status
        // Also dates the response (`date`), with no second clock read. Carried in the head rather
        // than asked of `upstream.eventTime`: the call through the existential cost 2.6 retains
        // and 1.6 releases per HTTP/2 request.
        let now = upstreamHead.receivedAt ?? .now()
        upstreamServiceTime = Int((now - attemptStart).nanoseconds / 1_000_000)
        // A trailers-only gRPC answer carries its status in the head, where Envoy's retry policy
        // reads it (Istio's default retries `unavailable` and `cancelled`).
        let grpcCode = requestProtocol == .grpc && !retryConditions.isDisjoint(with: .grpcConditions)
            ? upstreamHead.fields.first(name: "grpc-status").flatMap { Int($0) } : nil
        if canRetry(.status(status)) || grpcCode.map({ canRetry(.grpcStatus($0)) }) == true {
            // The rest of this response is not wanted; the connection goes with it.
            abandonUpstream()
            endAttempt()
            retry()
            return
        }
        perTryTimer?.cancel()
        perTryTimer = nil
        if retriesDone > 0, let retryPolicy,
            RetryRules.allows(.status(status), conditions: retryPolicy.conditions, retriableStatusCodes: retryPolicy.retriableStatusCodes)
                || grpcCode.map({ retryPolicy.conditions.retriesGRPCStatus($0) }) == true
        {
            flags.insert(.upstreamRetryLimitExceeded)
        }
        upstreamKeepAlive = upstreamHead.keepsConnectionAlive
        let upstreamEndsStream = upstreamHead.endsStream
        // Edited in place: the upstream connection handed over its only reference.
        var headers = upstreamHead.fields
        upstreamHead.fields = HeaderFields()
        if status == 101, upgrade != nil, http2Downstream == nil {
            switchProtocols(headers)
            return
        }
        // A closed stream takes no head: the edits below still note its size and gRPC status.
        if let stream = http2Downstream, writesResponseHeadDirectly, !stream._withUnsafeGuaranteedRef({ $0.closed }) {
            sendHTTP2ResponseHead(
                status: status, fields: headers, fromHTTP2: upstreamHead.fromHTTP2, endsStream: upstreamEndsStream, at: now, to: stream)
            returnResponseFields(consume headers)
            return
        }
        if http2Downstream == nil, writesResponseHeadDirectly {
            sendHTTP1ResponseHead(status: status, fields: headers, endsStream: upstreamEndsStream, at: now)
            returnResponseFields(consume headers)
            return
        }
        let upstreamHasLength = ForwardedHeaders.response(&headers, serviceTime: upstreamServiceTime, date: worker.date.current(at: now))
        if let setCookie { headers.append(name: "set-cookie", value: setCookie) }
        // Asked first: the rules themselves come out as a retained copy.
        if let forward, forward.hasResponseHeaderRules { HeaderRules.apply(forward.responseHeaders, to: &headers) }
        addCORSHeaders(to: &headers)
        addDebugHeaders(to: &headers)

        if requestProtocol == .grpc { grpcStatus = headers.first(name: "grpc-status") }
        let bodyless = head.method.isHEAD || (100..<200).contains(status) || status == 204 || status == 304
        if let stream = http2Downstream {
            // HTTP/2 frames the body itself; a bodyless answer, or a head that was the whole
            // upstream response (gRPC's trailers-only), ends with its HEADERS.
            let endsWithHead = bodyless || upstreamEndsStream
            responseFraming = endsWithHead ? .none : .contentLength
            responseStarted = true
            responseCode = status
            responseHeadListSize = Self.statusFieldSize + headers.headerListSize
            stream._withUnsafeGuaranteedRef { $0.sendHead(status: status, fields: headers, endStream: endsWithHead) }
            returnResponseFields(consume headers)
            return
        }
        switch frameHTTP1Response(bodyless: bodyless, upstreamHasLength: upstreamHasLength, upstreamEndsStream: upstreamEndsStream) {
        case .contentLengthZero: headers.append(name: "content-length", value: "0")
        case .chunked: headers.append(name: "transfer-encoding", value: "chunked")
        case nil: break
        }
        addConnectionHeader(to: &headers)
        responseStarted = true
        responseCode = status
        var buffer = downstream.headBuffer(capacity: 512)
        ResponseSerializer.writeHead(status: status, reason: nil, version: head.version, fields: headers, into: &buffer)
        downstream.write(buffer)
        returnResponseFields(consume headers)
    }

    /// Whether the response head goes to the client as `ForwardedHeaders.writeResponse` writes
    /// it, then the debug fields (and, over HTTP/1.1, the framing and connection fields): nothing
    /// else edits it (no `set-cookie`, CORS fields or route header operations). Tested in place:
    /// binding `forward` retained its storage.
    private var writesResponseHeadDirectly: Bool {
        (extrasStorage == nil || (setCookie == nil && cors == nil)) && forward?.hasResponseHeaderRules != true
    }

    /// The upstream's head, passed on to the HTTP/2 client as `upstreamResponseHead` would edit and
    /// send it, written straight into the stream's header block in one pass over the upstream's
    /// fields (`writesHTTP2ResponseHeadDirectly`).
    private func sendHTTP2ResponseHead(
        status: Int, fields: borrowing HeaderFields, fromHTTP2: Bool, endsStream: Bool, at now: NIODeadline,
        to stream: Unmanaged<HTTP2DownstreamStream>
    ) {
        let bodyless = head.method.isHEAD || (100..<200).contains(status) || status == 204 || status == 304
        let endsWithHead = bodyless || endsStream
        responseFraming = endsWithHead ? .none : .contentLength
        responseStarted = true
        responseCode = status
        let serviceTime = upstreamServiceTime
        let wantsGRPCStatus = requestProtocol == .grpc
        var grpcStatus: String?
        var listSize = 0
        stream._withUnsafeGuaranteedRef { downstream in
            downstream.sendHead(status: status, lending: fields, endStream: endsWithHead) { writer in
                var sink = HTTP2ResponseHeadSink(writer, namesAreLowercase: fromHTTP2)
                _ = ForwardedHeaders.writeResponse(
                    fields, into: &sink, serviceTime: serviceTime, dates: &worker.date, at: now, grpcStatus: &grpcStatus,
                    wantsGRPCStatus: wantsGRPCStatus, fromHTTP2: fromHTTP2)
                addDebugHeaders(to: &sink)
                listSize = sink.headerListSize
            }
        }
        if wantsGRPCStatus { self.grpcStatus = grpcStatus }
        responseHeadListSize = Self.statusFieldSize + listSize
    }

    /// Hands a response head's field storage back to the upstream, which writes its next head
    /// into it (the head was serialized or copied into a header block, or never needed them).
    /// The upstream is moved out for the call and back (`upstream?.` retained and released it).
    @inline(__always)
    private func returnResponseFields(_ fields: consuming HeaderFields) {
        if let upstream = self.upstream.take() {
            upstream.reuseResponseFields(consume fields)
            self.upstream.fill(with: upstream)
        }
    }

    /// The upstream took the WebSocket upgrade: its 101 goes to the client with the upgrade's
    /// own fields, and from here on bytes pass both ways unchanged (the parsers on both sides
    /// hand them on as body) until either side closes; the connections close together.
    private func switchProtocols(_ upstreamFields: HeaderFields) {
        let accepted = upstreamFields.first(name: "upgrade")
        var headers = upstreamFields
        _ = ForwardedHeaders.response(&headers, serviceTime: upstreamServiceTime, date: worker.date.current())
        HeaderRules.apply(forward?.responseHeaders, to: &headers)
        addCORSHeaders(to: &headers)
        addDebugHeaders(to: &headers)
        headers.append(name: "connection", value: "upgrade")
        if let accepted { headers.append(name: "upgrade", value: accepted) }
        tunneling = true
        responseFraming = .untilClose
        closeAfterResponse = true
        responseStarted = true
        responseCode = 101
        worker.stats.downstream.upgrades += 1
        worker.stats.downstream.activeUpgrades += 1
        var buffer = downstream.allocator.buffer(capacity: 512)
        ResponseSerializer.writeHead(status: 101, reason: nil, version: head.version, fields: headers, into: &buffer)
        downstream.write(buffer)
        downstream.flush()
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        guard !finished, responseStarted else { return }
        let size = buffer.readableBytes
        guard size > 0 else { return }
        responseBytes += size
        if requestProtocol == .grpc { responseMessages.count(buffer) }
        switch responseFraming {
        case .none:
            return
        case .contentLength, .untilClose:
            if let stream = http2Downstream {
                stream._withUnsafeGuaranteedRef { $0.sendBody(buffer) }
            } else {
                downstream.write(buffer)
            }
        case .chunked:
            var header = downstream.allocator.buffer(capacity: 16)
            ResponseSerializer.writeChunkHeader(size: size, into: &header)
            downstream.write(header)
            downstream.write(buffer)
            downstream.write(worker.crlf)
        }
        if !downstream.isWritable {
            // Backpressure: stop reading the upstream until the client drains.
            upstream?.holdReads()
            worker.stats.noteQueuedResponseBytes(downstream.queuedBytes)
        }
    }

    func upstreamReadComplete() {
        if responseStarted { downstream.flush() }
    }

    func upstreamResponseEnd(trailers: HTTPHeaders?) {
        guard !finished, responseStarted else { return }
        if requestProtocol == .grpc, let status = trailers?.first(name: "grpc-status") { grpcStatus = status }
        if let stream = http2Downstream {
            // Trailers (gRPC's `grpc-status`) pass through; a bodyless answer already ended.
            if responseFraming != .none {
                // Apart: passing a nil made from `trailers` cost a release per request.
                if let trailers, !trailers.isEmpty {
                    stream._withUnsafeGuaranteedRef { $0.sendEnd(trailers: trailers) }
                } else {
                    stream._withUnsafeGuaranteedRef { $0.sendEnd(trailers: nil) }
                }
            }
        } else if responseFraming == .chunked {
            if let trailers, !trailers.isEmpty {
                var last = downstream.allocator.buffer(capacity: 64)
                last.writeStaticString("0\r\n")
                for (name, value) in trailers {
                    last.writeString(name)
                    last.writeStaticString(": ")
                    last.writeString(value)
                    last.writeStaticString("\r\n")
                }
                last.writeStaticString("\r\n")
                downstream.write(last)
            } else {
                downstream.write(worker.lastChunk)
            }
        }
        downstream.flush()
        responseComplete = true
        var endTime: NIODeadline?
        // Moved out of the slot (a copy retained it, and emptying the slot released it again).
        if let upstream = self.upstream.take() {
            endTime = upstream.eventTime
            upstream.release(reusable: upstreamKeepAlive && upstreamRequestEnded)
        }
        endAttempt()
        if responseFraming == .untilClose { closeAfterResponse = true }
        finish(at: endTime)
    }

    func upstreamWritabilityChanged() {
        guard let upstream, upstream.isWritable else { return }
        drainPendingBody()
    }

    func upstreamFailed(_ reason: UpstreamFailure) {
        guard !finished, let failed = upstream else { return }
        upstream = nil
        let stale = failed.wasReused && !failed.receivedResponse
        if !stale { reportOutlier(.connectFailed) }
        endAttempt()
        if !responseStarted {
            lastResetReason = reason.resetReason
            // A keep-alive connection the server closed while idle: try again on a fresh one
            // without spending the retry budget.
            if stale && replay != nil && !staleRetryUsed {
                staleRetryUsed = true
                retry(countAgainstBudget: false)
                return
            }
            // Envoy's `RetryStateImpl::wouldRetryFromReset` retries any reset but an overflow,
            // a protocol error included, under `reset`, `5xx` or `gateway-error` (not under
            // Istio's default conditions).
            if canRetry(.reset) {
                retry()
                return
            }
            flags.insert(reason.responseFlag)
            if retriesDone > 0 { flags.insert(.upstreamRetryLimitExceeded) }
            localReply(status: reason.status, body: resetBody())
            return
        }
        // Mid-response: the client cannot be told; its stream (its connection, over HTTP/1.1)
        // is reset, with the flag of the reason as Envoy's router records it (`onUpstreamAbort`).
        flags.insert(reason.responseFlag)
        downstream.abort()
        finish(notifyDownstream: false)
        downstream.exchangeFinished(self, closeConnection: true)
    }

    // MARK: local replies

    /// An answer from the proxy itself (no route, no healthy upstream, overflow, fault abort,
    /// timeout, direct response, redirect): head and body in one buffer and one flush.
    /// `grpcCode`: the gRPC status a gRPC request gets instead of the one mapped from `status`.
    func localReply(status: Int, body: String?, extraHeaders: [(String, String)] = [], grpcCode: Int? = nil) {
        guard !responseStarted else {
            downstream.abort()
            finish(notifyDownstream: false)
            downstream.exchangeFinished(self, closeConnection: true)
            return
        }
        abandonUpstream()
        endAttempt()
        // A body still on its way is not read: the connection cannot carry a next request.
        if !requestEnded && requestFraming != .none { closeAfterResponse = true }
        if requestProtocol == .grpc, status >= 400, !extraHeaders.contains(where: { $0.0 == "grpc-status" }) {
            grpcLocalReply(grpcCode: grpcCode ?? GRPCStatusMapping.fromHTTP(status), message: body, extraHeaders: extraHeaders)
            return
        }
        var headers = HeaderFields(byteCapacity: 160, fieldCapacity: 8)
        let bodyBytes = body?.utf8.count ?? 0
        headers.append(name: "content-length", value: String(bodyBytes))
        if bodyBytes > 0 { headers.append(name: "content-type", value: "text/plain") }
        headers.append(name: "date", value: worker.date.current())
        headers.append(name: "server", value: ServerHeader.value)
        for (name, value) in extraHeaders { headers.append(name: name, value: value) }
        if requestProtocol == .grpc { grpcStatus = headers.first(name: "grpc-status") }
        addCORSHeaders(to: &headers)
        addDebugHeaders(to: &headers)
        responseStarted = true
        responseCode = status
        responseComplete = true
        responseBytes = head.method.isHEAD ? 0 : bodyBytes
        if let stream = http2Downstream {
            let sendsBody = bodyBytes > 0 && !head.method.isHEAD
            responseHeadListSize = Self.statusFieldSize + headers.headerListSize
            stream._withUnsafeGuaranteedRef { stream in
                stream.sendHead(status: status, fields: headers, endStream: !sendsBody)
                if sendsBody, let body { stream.sendBody(stream.allocator.buffer(string: body), endStream: true) }
            }
            finish()
            return
        }
        addConnectionHeader(to: &headers)
        var buffer = downstream.headBuffer(capacity: 256 + bodyBytes)
        ResponseSerializer.writeHead(status: status, version: head.version, fields: headers, into: &buffer)
        if let body, !head.method.isHEAD { buffer.writeString(body) }
        downstream.write(buffer)
        downstream.flush()
        finish()
    }

    /// `:status` with a three-digit code, as a header list counts it.
    /// Computed: a stored static was a lazy global, tested on each response.
    static var statusFieldSize: Int { ":status".utf8.count + 3 + 32 }

    /// Envoy answers a gRPC request's local errors the gRPC way: a trailers-only response (HTTP
    /// 200, `grpc-status` mapped from the HTTP status, the text in `grpc-message`), which gRPC
    /// clients read as the call's status.
    private func grpcLocalReply(grpcCode status: Int, message: String?, extraHeaders: [(String, String)]) {
        var headers = HeaderFields(byteCapacity: 160, fieldCapacity: 8)
        headers.append(name: "content-type", value: "application/grpc")
        headers.append(name: "date", value: worker.date.current())
        headers.append(name: "server", value: ServerHeader.value)
        for (name, value) in extraHeaders { headers.append(name: name, value: value) }
        headers.append(name: "grpc-status", value: String(status))
        if let message, !message.isEmpty { headers.append(name: "grpc-message", value: GRPCMessage.percentEncoded(message)) }
        grpcStatus = String(status)
        addCORSHeaders(to: &headers)
        addDebugHeaders(to: &headers)
        responseStarted = true
        responseCode = 200
        responseComplete = true
        responseBytes = 0
        if let stream = http2Downstream {
            responseHeadListSize = Self.statusFieldSize + headers.headerListSize
            stream._withUnsafeGuaranteedRef { $0.sendHead(status: 200, fields: headers, endStream: true) }
        } else {
            addConnectionHeader(to: &headers)
            headers.append(name: "content-length", value: "0")
            var buffer = downstream.allocator.buffer(capacity: 256)
            ResponseSerializer.writeHead(status: 200, version: head.version, fields: headers, into: &buffer)
            downstream.write(buffer)
            downstream.flush()
        }
        finish()
    }

    func addDebugHeaders<Sink: ForwardedFieldSink>(to headers: inout Sink) {
        guard worker.configuration.debugHeaders else { return }
        if let route { headers.appendField(name: "x-meshsim-route", value: route.headerValue) }
        if let cluster = forward?.cluster { headers.appendField(name: "x-meshsim-destination", value: cluster.destinationHeaderValue) }
    }

    private func addConnectionHeader(to headers: inout HeaderFields) {
        if closeAfterResponse {
            headers.replaceOrAdd(name: "connection", value: "close")
        } else if head.version == .http1_0 {
            headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
    }

    // MARK: the upstream request

    /// The request as the upstream gets it: origin-form target (rewritten), hop-by-hop headers
    /// gone, forwarding headers added, route header operations applied, the client's framing kept.
    func upstreamRequestHead() -> UpstreamRequestHead {
        let target = upstreamTarget()
        // Room for the client's fields, its Host when that is no field (`hostIsAuthority`), and ours.
        var headers = HeaderFields(byteCapacity: 512, fieldCapacity: head.fields.count + (head.hostIsAuthority ? 8 : 7))
        writeForwardedFields(into: &headers, target: target)
        HeaderRules.apply(forward?.requestHeaders, to: &headers)
        if requestFraming == .chunked { headers.append(name: "transfer-encoding", value: "chunked") }
        if case .websocket(let requested) = upgrade {
            // Hop-by-hop fields are dropped above; an upgrade carries its own two on, as Envoy does.
            headers.append(name: "connection", value: "upgrade")
            headers.append(name: "upgrade", value: requested)
            return UpstreamRequestHead(method: head.method, uri: target.path, version: .http1_1, fields: headers, isUpgrade: true)
        }
        return UpstreamRequestHead(method: head.method, uri: target.path, version: .http1_1, fields: headers)
    }

    /// Whether this attempt's head may be written straight into an HTTP/1.1 connection's buffer
    /// (`writeHTTP1RequestHead`) or an h2c stream's header block (`writeHTTP2Request`): no route
    /// header operations to apply to the fields, and no upgrade.
    var writesHeadDirectly: Bool { upgrade == nil && forward?.hasRequestHeaderRules != true }

    /// The same head as `upstreamRequestHead()`, written as HTTP/1.1 bytes with no `HeaderFields`
    /// or head object in between (when `writesHeadDirectly`).
    func writeHTTP1RequestHead(to connection: UpstreamConnection) {
        let chunked = requestFraming == .chunked
        func write(path: String, authority: String, rewrittenFrom: String?) {
            connection.writeHead(method: head.method, uri: path, chunkedBody: chunked) { buffer in
                writeForwardedFields(into: &buffer, authority: authority, rewrittenFrom: rewrittenFrom)
                if chunked { buffer.appendField(name: "transfer-encoding", value: "chunked") }
            }
        }
        if usesClientTarget {
            // The usual target, the head's own path and authority, read where they are: made into
            // `upstreamTarget()`'s tuple they were copied (retained) and released per request.
            write(path: head.path, authority: head.authority, rewrittenFrom: nil)
        } else {
            let target = upstreamTarget()
            write(path: target.path, authority: target.authority, rewrittenFrom: target.rewrittenFrom)
        }
    }

    /// The same head as `upstreamRequestHead()`, for a complete bodyless request on an h2c stream:
    /// its fields written straight into the stream's header block (when `writesHeadDirectly`;
    /// no transfer-encoding to add, since nothing follows the head).
    func writeHTTP2Request(to stream: HTTP2UpstreamStream) {
        func write(path: String, authority: String, rewrittenFrom: String?) {
            let namesAreLowercase = head.version.major == 2
            stream.writeCompleteRequest(method: head.method, path: path) { writer in
                // An HTTP/2 client's field names are lower-case (nghttp2 refuses a head with any
                // other), and so are the ones the proxy adds: none needs lower-casing again.
                writer.namesAreLowercase = namesAreLowercase
                writeForwardedFields(into: &writer, authority: authority, rewrittenFrom: rewrittenFrom)
            }
        }
        if usesClientTarget {
            // Read where they are, as for HTTP/1.1: the tuple retained both strings and released
            // them and its nil per request. Through the head lent (`head`, a `let`, holds it for
            // the exchange's life): read from `self.head`, each string was retained for the call.
            Unmanaged.passUnretained(head)._withUnsafeGuaranteedRef { head in
                write(path: head.path, authority: head.authority, rewrittenFrom: nil)
            }
        } else {
            let target = upstreamTarget()
            write(path: target.path, authority: target.authority, rewrittenFrom: target.rewrittenFrom)
        }
    }

    /// A routed request whose route rewrites neither path nor authority (the usual one): its
    /// upstream target is the head's own path and authority. Tested in place: binding `forward`
    /// retained and released its storage.
    private var usesClientTarget: Bool {
        routed && forward?.hasRewrite == false && forward?.hasAuthorityRewrite == false
    }

    /// The upstream request's path (rewritten or not), the client's path when a rewrite changed
    /// it, and the authority.
    private func upstreamTarget() -> (path: String, rewrittenFrom: String?, authority: String) {
        // Not routed (answered before routing): no forward either.
        guard routed else { return (head.uri, nil, "") }
        let originalPath = head.path
        // rewrite.authority, else an :authority/host header operation (Istio's host rewrite).
        // The flag first: `forward?.authorityRewrite` alone cost a retain per request even when nil.
        let authority = forward.flatMap { $0.hasAuthorityRewrite ? $0.authorityRewrite : nil } ?? head.authority
        if let rewritten = rewrittenPath {
            return (rewritten, originalPath, authority)
        }
        return (originalPath, nil, authority)
    }

    /// The path a route's rewrite makes of the request's, or nil when it stays: worked out once,
    /// when the request is routed (the route, the path and the snapshot that matched it do not
    /// change), and kept in `rewrittenPath`.
    func rewritePath(snapshot: RoutingSnapshot, request: DownstreamRequest) -> String? {
        let originalPath = head.path
        guard let forward, forward.hasRewrite,
              let rewritten = PathRewriter.rewrite(path: originalPath, forward: forward, snapshot: snapshot, request: request),
              rewritten != originalPath
        else { return nil }
        return rewritten
    }

    private func writeForwardedFields<Sink: ForwardedFieldSink>(
        into sink: inout Sink, target: (path: String, rewrittenFrom: String?, authority: String)
    ) {
        writeForwardedFields(into: &sink, authority: target.authority, rewrittenFrom: target.rewrittenFrom)
    }

    private func writeForwardedFields<Sink: ForwardedFieldSink>(into sink: inout Sink, authority: String, rewrittenFrom: String?) {
        // The head lent (`head`, a `let`, holds it): read from `self.head`, its fields' storage
        // was retained for the call.
        Unmanaged.passUnretained(head)._withUnsafeGuaranteedRef { head in
            ForwardedHeaders.writeRequest(
                head.fields, into: &sink, authority: authority, rewrittenFrom: rewrittenFrom,
                forwardedFor: appendedForwardedFor, requestID: drawnRequestID.map { .drawn($0) } ?? .empty,
                expectedTimeoutMilliseconds: routeTimeout.map { $0.nanoseconds / 1_000_000 }, attempt: retriesDone + 1,
                isInternal: isInternal, known: head.known,
                hostAfterFields: head.hostIsAuthority)
        }
    }
}

/// Envoy's HTTP → gRPC status mapping for local replies (`Grpc::Utility::httpToGrpcStatus`).
enum GRPCStatusMapping {
    static func fromHTTP(_ status: Int) -> Int {
        switch status {
        case 400: return 13  // INTERNAL
        case 401: return 16  // UNAUTHENTICATED
        case 403: return 7  // PERMISSION_DENIED
        case 404: return 12  // UNIMPLEMENTED
        case 429, 502, 503, 504: return 14  // UNAVAILABLE
        default: return 2  // UNKNOWN
        }
    }
}

/// The framing field an HTTP/1.1 client's response head gets from the proxy, if any.
enum HTTP1FramingField {
    case contentLengthZero
    case chunked
}

extension Exchange {
    /// Frames an HTTP/1.1 client's response as Envoy's HTTP/1.1 encoder does, for both ways of
    /// writing its head: sets `responseFraming` and `closeAfterResponse`, and returns the
    /// framing field the head must carry.
    func frameHTTP1Response(bodyless: Bool, upstreamHasLength: Bool, upstreamEndsStream: Bool) -> HTTP1FramingField? {
        var field: HTTP1FramingField?
        if bodyless {
            responseFraming = .none
        } else if upstreamHasLength {
            responseFraming = .contentLength
        } else if upstreamEndsStream {
            // Envoy's HTTP/1.1 encoder frames a head that ends the stream with `content-length: 0`.
            responseFraming = .contentLength
            field = .contentLengthZero
        } else if head.version == .http1_1 {
            responseFraming = .chunked
            field = .chunked
        } else {
            responseFraming = .untilClose
            closeAfterResponse = true
        }
        if !requestEnded && requestFraming != .none && !bodyless {
            // The upstream answered before the request body ended; the connection cannot be
            // reused for a next request once this response is out.
            closeAfterResponse = true
        }
        return field
    }
}
