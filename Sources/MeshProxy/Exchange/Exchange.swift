import MeshConfig
import MeshHTTP2
import MeshRouting
import NIOCore
import NIOHTTP1

/// One request from its head to the end of its response: routing, fault injection, endpoint
/// pick, upstream attempts with retries and timeouts, streaming both ways, the answer Envoy
/// would give when something fails, and the stats and access-log record at the end. Lives on
/// its connection's event loop; the snapshot it routes with is the one current when its head
/// arrived, whatever is applied meanwhile.
final class Exchange {
    let worker: Worker
    let downstream: ExchangeDownstream
    /// The downstream when it is an HTTP/2 stream, lent to each call without a retain
    /// (`_withUnsafeGuaranteedRef`): `downstream` holds the same object for the exchange's whole
    /// life. Asking `downstream.http2` through the existential retained and released it, three
    /// or four times per request.
    let http2Downstream: Unmanaged<HTTP2DownstreamStream>?
    let head: DownstreamRequestHead
    /// When the request's head arrived (HTTP/2: the time of the socket read it came in).
    let startTime: NIODeadline
    let startWallClock: Int64
    /// Whether the request's target was accepted and it went to routing (false: answered before).
    private(set) var routed = false
    /// The request as routing reads it, once routed (nil: answered before routing). A view of
    /// `head` made when read: stored, it cost a retain and a release of the head per request.
    var request: DownstreamRequest? { routed ? DownstreamRequest(lending: head) : nil }
    /// The `x-request-id` the proxy drew for a request that came without one (kept as bits: the
    /// forwarded head is written from them, and text is made only for the access log).
    var drawnRequestID: RequestID?
    /// The request's `x-request-id`: the client's, else the drawn one; empty for a request
    /// answered before routing.
    var requestID: String {
        guard routed else { return "" }
        return head.first(.requestID) ?? drawnRequestID?.text ?? ""
    }

    // Request body.
    let requestFraming: RequestFraming
    private(set) var requestEnded: Bool
    var requestBodyBytes = 0
    /// Body not yet written upstream: while connecting, during a retry backoff, or while the
    /// upstream connection is not writable. Bounded by one socket read, since the downstream
    /// is not read while this holds anything.
    var pendingBody: [ByteBuffer] = []
    var pendingBytes = 0
    /// The body so far, kept to replay on a retry; nil once it outgrows the retry buffer.
    var replay: [ByteBuffer]? = []
    var replayBytes = 0
    /// HTTP/2 request body bytes not yet handed back to the client's flow-control windows.
    var unconsumedBytes = 0

    // Routing.
    var forward: Forward?
    /// The route of a direct response or redirect; a forwarded request's is its forward's
    /// (read from there rather than copied: a copy retained three strings).
    var answeringRoute: RouteRef?
    var route: RouteRef? { forward?.route ?? answeringRoute }
    var clusterRuntime: ClusterRuntime?
    var flags = ResponseFlags()
    var hashKey: UInt64?
    var routeTimeout: TimeAmount?
    /// The route's retry policy, lent: `forward` (set once, when routed, and never again) holds
    /// it for the exchange's life. Held strongly, it cost a retain and a release per request.
    private(set) var lentRetryPolicy: Unmanaged<RetryPolicy>?
    /// `lentRetryPolicy` as a reference, for the rare paths (retries); a retained copy.
    var retryPolicy: RetryPolicy? { lentRetryPolicy?.takeUnretainedValue() }
    var retryConditions: RetryOn = []
    var retryBudget = 0
    var retriesDone = 0
    /// The endpoint of the current attempt (-1: none yet); earlier ones are `previousEndpoints`.
    var currentEndpoint = -1
    var upstreamStarted = false
    /// What few requests use (trailers, retries, timers, mirrors, CORS...): see `ExchangeExtras`.
    var extrasStorage: ExchangeExtras?

    // The current upstream attempt.
    var upstream: (any UpstreamTransport)?
    var upstreamPool: EndpointPool?
    var holdsRequestSlot = false
    /// When the current attempt started (`x-envoy-upstream-service-time` counts from it): the
    /// exchange's start for a first attempt made at once, else the clock when it began.
    var attemptStart: NIODeadline
    var upstreamRequestEnded = false
    var upstreamNeedsFlush = false
    var upstreamKeepAlive = true
    /// `address:port` of the latest attempt's endpoint, for the access log.
    var upstreamHost: String? { upstreamPool.map { "\($0.address.host):\($0.address.port)" } }
    /// The stats slot of the endpoint the latest attempt went to (0: none yet).
    var upstreamWorkloadSlot: UInt32 = 0

    // The response.
    var responseStarted = false
    var responseCode = 0
    var responseFraming = BodyFraming.none
    var responseBytes = 0
    /// HTTP/2: the request and response heads' header list sizes (RFC 9113 §6.5.2), for
    /// `istio_request_bytes` and `istio_response_bytes`. The request's is measured by the
    /// stream before its head becomes the exchange's (reading it back from `head` costs
    /// retains of its strings and storage).
    var requestHeadListSize = 0
    var responseHeadListSize = 0
    /// gRPC only: the messages of each body, counted as they pass.
    var requestMessages = GRPCMessageCounter()
    var responseMessages = GRPCMessageCounter()
    var upstreamServiceTime: Int?
    var responseComplete = false
    var closeAfterResponse: Bool
    var finished = false
    var notifyOnRequestEnd = false
    let requestProtocol: RequestProtocol
    /// A WebSocket (or refused) upgrade this request asks for; nil for nearly every request.
    let upgrade: SidecarUpgrade?
    /// The upstream answered a WebSocket upgrade with 101: bytes now pass both ways unchanged.
    var tunneling = false
    /// Whether the request counts as internal (`InternalRequest`): only then do its `x-envoy-*`
    /// headers steer the timeout and retries.
    var isInternal = false

    enum RequestFraming {
        case none
        case contentLength
        case chunked
        /// A WebSocket upgrade: what follows the head is the new protocol's bytes, unframed,
        /// until a side closes.
        case tunnel
    }

    /// An HTTP/1.1 request's exchange.
    /// - Parameter startTime: when the head arrived (the time of the socket read it came in).
    convenience init(worker: Worker, downstream: ExchangeDownstream, head: DownstreamRequestHead, startTime: NIODeadline? = nil) {
        self.init(worker: worker, downstream: downstream, http2: nil, head: head, http2EndStream: nil, startTime: startTime)
    }

    /// An HTTP/2 stream's exchange.
    /// - Parameter endStream: whether the stream's HEADERS ended it (no body).
    /// - Parameter startTime: when the head arrived (the time of the socket read it came in).
    convenience init(worker: Worker, stream: HTTP2DownstreamStream, head: DownstreamRequestHead, endStream: Bool, startTime: NIODeadline) {
        // Lent: `downstream` holds the same object.
        let lent = Unmanaged.passUnretained(stream)
        self.init(worker: worker, downstream: stream, http2: lent, head: head, http2EndStream: endStream, startTime: startTime)
    }

    /// Reads what it needs from its arguments first and stores each last, so that the arguments
    /// (owned, as an initializer's are) move into the properties: stored while still in use,
    /// each was retained again and its argument released at the end (four of each per request).
    private init(
        worker: Worker, downstream: ExchangeDownstream, http2: Unmanaged<HTTP2DownstreamStream>?, head: DownstreamRequestHead,
        http2EndStream: Bool?, startTime: NIODeadline?
    ) {
        let startTime = startTime ?? .now()
        self.startTime = startTime
        self.attemptStart = startTime
        self.http2Downstream = http2
        self.startWallClock = worker.accessLog == nil ? 0 : HTTPDateCache.wallClockNanoseconds()
        self.appendedForwardedFor = Self.appendedForwardedFor(
            useRemoteAddress: worker.configuration.useRemoteAddress, clientIP: downstream.remoteIP, head: head)
        self.requestProtocol = RequestProtocol(head: head)
        // Rare: only a request with an Upgrade field, or a CONNECT, costs the look.
        // HTTP/2 has no Upgrade field (only CONNECT asks there).
        let upgrade = head.contains(.upgrade) || head.method.isCONNECT
            ? SidecarUpgrade(method: head.method.rawValue, requestedProtocol: http2EndStream == nil ? head.upgradeProtocol : nil) : nil
        let framing = Self.framing(head: head, http2EndStream: http2EndStream, upgrade: upgrade)
        self.upgrade = upgrade
        self.requestFraming = framing.framing
        self.requestEnded = framing.ended
        self.closeAfterResponse = framing.closeAfterResponse
        if framing.framing == .tunnel {
            // The connection belongs to the tunnel now: there is nothing to replay on a retry.
            replay = nil
        }
        self.worker = worker
        self.downstream = downstream
        self.head = head
    }

    /// How the request's body is framed, whether it is complete with its head, and whether the
    /// connection closes after the response.
    private static func framing(head: DownstreamRequestHead, http2EndStream: Bool?, upgrade: SidecarUpgrade?)
        -> (framing: RequestFraming, ended: Bool, closeAfterResponse: Bool)
    {
        if let http2EndStream {
            // HTTP/2 frames its own body; towards an HTTP/1.1 upstream it is chunked unless
            // the client declared a length.
            if http2EndStream {
                // Complete already: no body or end event follows.
                return (.none, true, false)
            } else if let length = head.first(.contentLength) {
                return (length == "0" ? .none : .contentLength, false, false)
            } else {
                return (.chunked, false, false)
            }
        }
        let closeAfterResponse = !head.keepsConnectionAlive
        if case .websocket = upgrade {
            // The connection belongs to the tunnel now; nothing after it is a request.
            return (.tunnel, false, true)
        } else if head.contains(.transferEncoding) {
            return (.chunked, false, closeAfterResponse)
        } else if let length = head.first(.contentLength), length != "0" {
            return (.contentLength, false, closeAfterResponse)
        } else {
            return (.none, false, closeAfterResponse)
        }
    }

    /// Whether the downstream may be read for more of this request's body.
    var wantsRequestData: Bool {
        guard !requestEnded, !finished, let upstream, pendingBytes == 0 else { return false }
        return upstream.isWritable
    }

    // MARK: start

    func start() {
        // CONNECT carries an authority, not a path: it is judged as an upgrade, below.
        if head.method.isCONNECT {
            refuseUpgrade()
            return
        }
        guard head.targetError == nil else {
            worker.stats.downstream.protocolErrors += 1
            flags.insert(.downstreamProtocolError)
            closeAfterResponse = true
            localReply(status: 400, body: "Bad Request")
            return
        }
        if head.uri == "*" {
            // `OPTIONS *`: Envoy routes relative paths only and answers anything else with an
            // empty 404 before routing (`absolute_path`, downstream_rq_non_relative_path).
            worker.stats.downstream.nonRelativePaths += 1
            localReply(status: 404, body: nil)
            return
        }
        if case .refused = upgrade {
            refuseUpgrade()
            return
        }
        routed = true
        let request = DownstreamRequest(lending: head)
        if !head.contains(.requestID) { drawnRequestID = RequestID(using: &worker.random) }
        if let appendedForwardedFor {
            isInternal = InternalRequest.isInternal(forwardedFor: appendedForwardedFor)
        } else if let index = head.known[.forwardedFor] {
            // The client's field read in place (`head.first` made a string of it).
            isInternal = head.fields.withField(at: index) { _, value in InternalRequest.isInternal(forwardedForBytes: value) }
        }

        // Envoy answers `Expect: 100-continue` itself and does not forward the expectation.
        if head.version == .http1_1, let expect = head.first(.expect), expect.lowercased() == "100-continue" {
            downstream.write(worker.continueResponse)
            downstream.flush()
        }

        // The snapshot current now routes the request (it is not kept: what the exchange needs of
        // it later, its `forward` and cluster runtime hold). Lent for the call: only a new
        // configuration replaces it, in a task of this loop of its own.
        let snapshot = Unmanaged.passUnretained(worker.snapshot)
        // The authority's bytes lent from the head (`request.withAuthorityUTF8` lends the same).
        // Switched on as returned: bound to a local first, the forward decision's payload was
        // copied out of it (a retain and a release).
        switch request.withAuthorityUTF8Result({ authority in
            snapshot._withUnsafeGuaranteedRef { $0.route(request, authorityUTF8: authority, picker: &worker.picker) }
        }) {
        case .noRoute:
            flags.insert(.noRouteFound)
            localReply(status: 404, body: nil)
        case .directResponse(let status, let body, let route):
            self.answeringRoute = route
            localReply(status: status, body: body)
        case .redirect(let status, let location, let route):
            self.answeringRoute = route
            localReply(status: status, body: nil, extraHeaders: [("location", location)])
        case .forward(let forward):
            // The route is read from `forward` when asked (debug headers): a RouteRef copy
            // retains its three strings. Moved in, and read there from now on: a local copy
            // kept for the steps below retained its storage.
            self.forward.fill(with: consume forward)
            if self.forward?.hasRewrite == true {
                // Rare: the rewrite reads how the route matched, which needs the snapshot.
                rewrittenPath = snapshot._withUnsafeGuaranteedRef { rewritePath(snapshot: $0, request: request) }
            }
            startForwarding()
        }
    }

    /// A forwarded request's CORS and fault filters, reading `forward` in place.
    private func startForwarding() {
        // Lent: `forward` holds the cluster.
        guard let cluster = forward.map({ Unmanaged.passUnretained($0.cluster) }) else { return }
        clusterRuntime.fill(with: cluster._withUnsafeGuaranteedRef { worker.clusterRuntime(for: $0) })
        if forward?.hasCORS == true, let rule = forward?.cors, let origin = head.first(.origin), !origin.isEmpty, applyCORS(rule, origin: origin) {
            return
        }
        applyFaults(forward?.hasFault == true ? forward?.fault : nil)
    }

    /// Envoy's HTTP connection manager refuses an upgrade its config does not name (and CONNECT,
    /// which it treats as one) with an empty 403 (`upgrade_failed`) before any filter runs.
    private func refuseUpgrade() {
        closeAfterResponse = true
        localReply(status: 403, body: nil)
    }

    /// Istio's fault injection: a delay (DI) first, then an abort (FI), each drawn with its
    /// percentage on this loop's generator.
    private func applyFaults(_ fault: FaultPolicy?) {
        if let delay = FaultDecision.delay(fault, random: &worker.random) {
            flags.insert(.delayInjected)
            waitTimer = worker.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
                waitTimer = nil
                abortOrProceed(fault)
            }
            return
        }
        abortOrProceed(fault)
    }

    private func abortOrProceed(_ fault: FaultPolicy?) {
        guard !finished else { return }
        if let abort = FaultDecision.abort(fault, random: &worker.random) {
            flags.insert(.faultInjected)
            localReply(status: abort.status, body: "fault filter abort", extraHeaders: abort.grpcStatus.map { [("grpc-status", $0)] } ?? [])
            return
        }
        proceedUpstream()
    }

    private func proceedUpstream() {
        // `forward` and the cluster are read in place: local copies retained both for the call.
        guard routed, let clusterState = forward?.clusterState, let policy = forward.map({ Unmanaged.passUnretained($0.retries) }),
              let runtime = lentClusterRuntime else { return }
        if clusterState == .undefinedSubset {
            // Istio builds no cluster for a subset no DestinationRule defines: Envoy's NC.
            flags.insert(.noClusterFound)
            localReply(status: 503, body: nil)
            return
        }
        guard !runtime._withUnsafeGuaranteedRef({ $0.reachable.isEmpty }) else {
            flags.insert(.noHealthyUpstream)
            localReply(status: 503, body: "no healthy upstream")
            return
        }
        if let key = runtime._withUnsafeGuaranteedRef({ $0.consistentHashKey }), let request {
            let computed = ConsistentHashing.hash(for: key, request: request, sourceIP: downstream.remoteIP)
            hashKey = computed.hash
            setCookie = computed.setCookie
        }
        let isGRPC = requestProtocol == .grpc
        let routeNanoseconds = forward?.timeoutNanoseconds
        if isInternal {
            routeTimeout = Self.timeout(
                header: head.first(.upstreamTimeout), routeNanoseconds: routeNanoseconds, isGRPC: isGRPC,
                grpcTimeout: isGRPC ? head.fields.first(name: "grpc-timeout") : nil)
            retryBudget = policy._withUnsafeGuaranteedRef { RetryRules.budget(policy: $0, header: head.first(.maxRetries)) }
            retryConditions = policy._withUnsafeGuaranteedRef { RetryRules.conditions(policy: $0, header: head.first(.retryOn)) }
        } else {
            // Envoy strips these from a request that is not internal before its router reads
            // them. No nil strings passed for them: each cost a release per request.
            routeTimeout = isGRPC
                ? Self.timeout(header: nil, routeNanoseconds: routeNanoseconds, isGRPC: true, grpcTimeout: head.fields.first(name: "grpc-timeout"))
                : Self.timeout(routeNanoseconds: routeNanoseconds)
            retryBudget = policy._withUnsafeGuaranteedRef { RetryRules.budget(policy: $0) }
            retryConditions = policy._withUnsafeGuaranteedRef { $0.conditions }
        }
        lentRetryPolicy = policy
        upstreamStarted = true
        if requestEnded { armRouteTimeout() }
        if forward?.hasMirrors == true { mirror = RequestMirror.start(for: self) }
        attempt()
    }

    /// `clusterRuntime` lent to a call without a retain: it is set once, when the request is
    /// routed, and never cleared, so the exchange holds it for the rest of its life.
    var lentClusterRuntime: Unmanaged<ClusterRuntime>? {
        clusterRuntime.map { Unmanaged.passUnretained($0) }
    }

    /// `x-envoy-upstream-rq-timeout-ms` overrides the route's timeout; 0 disables it. A gRPC
    /// request is timed by its own deadline (`grpcTimeout`, its `grpc-timeout` field) capped at
    /// the route's timeout (`GRPCTimeout`).
    static func timeout(header: String?, routeNanoseconds route: Int64?, isGRPC: Bool = false, grpcTimeout: String? = nil) -> TimeAmount? {
        if let header, let milliseconds = Int64(header) {
            return milliseconds > 0 ? .milliseconds(milliseconds) : nil
        }
        if isGRPC {
            return GRPCTimeout.effective(header: grpcTimeout, routeMilliseconds: (route ?? 0) / 1_000_000)
        }
        return timeout(routeNanoseconds: route)
    }

    /// The route's own timeout (no header, not gRPC); nil or 0: none.
    static func timeout(routeNanoseconds route: Int64?) -> TimeAmount? {
        guard let route, route > 0 else { return nil }
        return .nanoseconds(route)
    }

    // MARK: request end from downstream (here: the only place that sets `requestEnded`)

    func receiveEnd(trailers: HTTPHeaders? = nil) {
        if let trailers, !trailers.isEmpty { requestTrailers = trailers }
        if notifyOnRequestEnd {
            // Answered before the (bodyless) request's end was decoded; the connection stays.
            notifyOnRequestEnd = false
            requestEnded = true
            downstream.exchangeFinished(self, closeConnection: closeAfterResponse)
            return
        }
        guard !finished else { return }
        requestEnded = true
        mirror?.end(trailers: requestTrailers)
        if let upstream, pendingBody.isEmpty {
            upstream.write(.end(requestTrailers), promise: nil)
            upstream.flush()
            upstreamNeedsFlush = false
            upstreamRequestEnded = true
        }
        if upstreamStarted { armRouteTimeout() }
        if responseComplete { finish() }
    }

    // MARK: downstream events

    func downstreamWritabilityChanged() {
        if downstream.isWritable { upstream?.resumeReads() }
    }

    /// How the client side went away before the response was out, as Envoy's connection
    /// manager flags it (`ActiveStream::onResetStream`).
    enum DownstreamEnd {
        /// The connection closed (DC).
        case connectionTermination
        /// The client reset its HTTP/2 stream: RST_STREAM, e.g. a cancelled gRPC call (DR).
        case remoteReset
        /// The client broke HTTP/2 and its connection was ended (DPE).
        case protocolError
        /// The client owed frames and sent none within the stream idle timeout; the codec
        /// answered 408 if no response had begun (SI).
        case streamIdleTimeout

        var flag: ResponseFlags {
            switch self {
            case .connectionTermination: .downstreamConnectionTermination
            case .remoteReset: .downstreamRemoteReset
            case .protocolError: .downstreamProtocolError
            case .streamIdleTimeout: .streamIdleTimeout
            }
        }
    }

    func downstreamClosed(_ end: DownstreamEnd = .connectionTermination) {
        guard !finished else { return }
        if !responseComplete {
            flags.insert(end.flag)
            if !responseStarted { responseCode = end == .streamIdleTimeout ? 408 : 0 }
        }
        finish(notifyDownstream: false)
    }

    /// The HTTP/1.1 stream moved no bytes for the stream idle timeout (flag SI). Before the
    /// response began, answers 408 "stream timeout" as Envoy does and returns true (the
    /// connection closes after it); after, ends the exchange and returns false: the caller cuts
    /// the connection.
    func streamIdleTimedOut() -> Bool {
        guard !finished else { return true }
        flags.insert(.streamIdleTimeout)
        if !responseStarted {
            closeAfterResponse = true
            localReply(status: 408, body: "stream timeout")
            return true
        }
        finish(notifyDownstream: false)
        return false
    }

    /// The request body broke HTTP/1.1 framing after the head went upstream. Envoy resets the
    /// upstream request and answers 400 (flag DPE) when no response has begun, else closes the
    /// connection; either way the connection cannot carry another request.
    func downstreamProtocolError() {
        guard !finished else { return }
        flags.insert(.downstreamProtocolError)
        closeAfterResponse = true
        localReply(status: 400, body: "Bad Request")
    }

    // MARK: end

    /// - Parameter endTime: when the response ended, if the caller read the clock for it.
    func finish(notifyDownstream: Bool = true, at endTime: NIODeadline? = nil) {
        guard !finished else { return }
        finished = true
        if tunneling { worker.stats.downstream.activeUpgrades -= 1 }
        mirror?.exchangeFinished()
        mirror = nil
        routeTimer?.cancel()
        routeTimer = nil
        waitTimer?.cancel()
        waitTimer = nil
        endAttempt()
        if let upstream {
            // Abandoned mid-exchange: the connection's state is unknown, so it goes.
            self.upstream = nil
            upstream.close()
        }
        let elapsed = (endTime ?? .now()) - startTime
        let milliseconds = Double(elapsed.nanoseconds) / 1_000_000
        let bytes = downstream.wireBytes ?? http2StreamBytes
        let messages = requestProtocol == .grpc ? (requestMessages.messages, responseMessages.messages) : nil
        if let runtime = lentClusterRuntime {
            // Only a gRPC request has a status to read.
            let grpcKey = requestProtocol == .grpc ? WorkerStats.RequestCounters.grpcKey(grpcStatus) : WorkerStats.RequestCounters.noGRPCStatus
            runtime._withUnsafeGuaranteedRef { runtime in
                // Lent: the runtime holds its counters for good (`counters.requests.` retained and
                // released them around the call).
                Unmanaged.passUnretained(runtime.counters.requests)._withUnsafeGuaranteedRef {
                    $0.record(
                        code: responseCode, flags: flags, workload: upstreamWorkloadSlot, milliseconds: milliseconds,
                        requestProtocol: requestProtocol, grpcKey: grpcKey, requestBytes: bytes.received,
                        responseBytes: bytes.sent, grpcMessages: messages)
                }
            }
        } else {
            worker.stats.unrouted.record(
                code: responseCode, flags: flags, workload: 0, milliseconds: milliseconds, requestProtocol: requestProtocol,
                grpcStatus: grpcStatus, requestBytes: bytes.received, responseBytes: bytes.sent, grpcMessages: messages)
        }
        if let accessLog = worker.accessLog { logAccess(to: accessLog, milliseconds: Int(milliseconds)) }
        guard notifyDownstream else { return }
        if !requestEnded && requestFraming == .none && !closeAfterResponse {
            // The end of a bodyless request comes with its head; wait for it, then go on.
            notifyOnRequestEnd = true
        } else {
            downstream.exchangeFinished(self, closeConnection: closeAfterResponse || !requestEnded)
        }
    }

    /// An HTTP/2 stream's request and response as header list sizes (pseudo-headers included)
    /// plus body bytes: its frames are not yet written when the exchange ends, so their HPACK
    /// size is not known; Envoy counts the frames' bytes, which HPACK makes smaller.
    private var http2StreamBytes: (received: Int, sent: Int) {
        (requestHeadListSize + requestBodyBytes, responseHeadListSize + responseBytes)
    }

    /// A request head's header list size (RFC 9113 §6.5.2) with its pseudo-headers (`:scheme`
    /// as `http`; no `:authority` when `authority` is empty, the Host field then counting).
    static func requestHeadListSize(method: String, authority: String, path: String, fields: HeaderFields) -> Int {
        requestHeadListSize(method: method, authority: authority, path: path, fieldsListSize: fields.headerListSize)
    }

    /// The same given the regular fields' share (`KnownRequestFields.headerListSize`, counted in
    /// the pass that indexes them).
    @inline(__always)
    static func requestHeadListSize(method: String, authority: String, path: String, fieldsListSize: Int) -> Int {
        var size = ":method".utf8.count + method.utf8.count + 32
        size += ":scheme".utf8.count + "http".utf8.count + 32
        size += ":path".utf8.count + path.utf8.count + 32
        if !authority.isEmpty { size += ":authority".utf8.count + authority.utf8.count + 32 }
        return size + fieldsListSize
    }

    /// The `x-forwarded-for` the proxy writes, or nil to pass the client's on unchanged:
    /// Envoy appends the peer's address only with `use_remote_address`, which Istio's sidecar
    /// outbound listener leaves off (`PILOT_SIDECAR_USE_REMOTE_ADDRESS`, default false), so
    /// in-mesh calls reach the pod with the client's own value or none.
    /// Made once, with the exchange: the internal-request test, every attempt's head and the
    /// access log read it (a lazy property cost a retain and a release per read).
    let appendedForwardedFor: String?

    private static func appendedForwardedFor(useRemoteAddress: Bool, clientIP: @autoclosure () -> String, head: DownstreamRequestHead) -> String? {
        guard useRemoteAddress else { return nil }
        let clientIP = clientIP()
        guard !clientIP.isEmpty else { return nil }
        guard let existing = head.first(.forwardedFor) else { return clientIP }
        return existing + ", " + clientIP
    }

    private func logAccess(to log: AccessLogWriter, milliseconds: Int) {
        let path = head.first(.originalPath) ?? request?.path ?? head.uri
        log.log(AccessLogEntry(
            startEpochNanoseconds: startWallClock, method: head.method.rawValue, path: path,
            protocolName: head.version.major == 2 ? "HTTP/2" : "HTTP/\(head.version.major).\(head.version.minor)", responseCode: responseCode, flags: flags,
            bytesReceived: requestBodyBytes, bytesSent: responseBytes, durationMilliseconds: milliseconds,
            upstreamServiceTime: upstreamServiceTime, forwardedFor: appendedForwardedFor ?? head.first(.forwardedFor),
            userAgent: head.first(.userAgent), requestID: requestID, authority: request?.authority,
            upstreamHost: upstreamHost))
    }
}
