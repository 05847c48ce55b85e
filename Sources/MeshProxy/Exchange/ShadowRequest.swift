import MeshHTTP2
import MeshRouting
import NIOCore
import NIOHTTP1

/// One mirrored copy of a request (Envoy's shadow): sent to an endpoint of the mirror cluster on
/// a pooled connection of this event loop, its answer read and dropped. Fire and forget: nothing
/// here reaches the exchange it copies, so a slow, failing or dead mirror cannot delay or fail
/// the client's request. Lives on its event loop; kept alive while in flight by the pool (as a
/// waiter), the connection (as its delegate) or its timeout.
final class ShadowRequest: PoolWaiter, UpstreamConnectionDelegate {
    private let worker: Worker
    private let runtime: ClusterRuntime
    private let pool: EndpointPool
    private let workloadSlot: UInt32
    private let requestProtocol: RequestProtocol
    private let startTime = NIODeadline.now()
    private let head: UpstreamRequestHead
    /// Request parts given before a connection was ready; bounded by the mirror's body limit.
    private var queued: [UpstreamRequestPart] = []
    private var upstream: (any UpstreamTransport)?
    private var waitingForConnection = false
    private var holdsRequestSlot = false
    /// The whole request was handed over (written, or queued to be).
    private(set) var requestEnded = false
    /// The request's end went out on the connection.
    private var requestWritten = false
    private var responseCode = 0
    private var responseKeepAlive = true
    private var grpcStatus: String?
    /// Body bytes sent to the mirror and received from it, and its response head's size, for
    /// the mirror's `istio_request_bytes`/`istio_response_bytes` (heads as header list sizes).
    private var requestBodyBytes = 0
    private var responseBodyBytes = 0
    private var responseHeadSize = 0
    private var requestMessages = GRPCMessageCounter()
    private var responseMessages = GRPCMessageCounter()
    private(set) var finished = false
    private var timer: Scheduled<Void>?

    private init(worker: Worker, runtime: ClusterRuntime, pool: EndpointPool, workloadSlot: UInt32, head: UpstreamRequestHead,
                 requestProtocol: RequestProtocol) {
        self.worker = worker
        self.runtime = runtime
        self.pool = pool
        self.workloadSlot = workloadSlot
        self.head = head
        self.requestProtocol = requestProtocol
    }

    /// Starts a shadow of `head` (Host already rewritten) to `cluster`; nil when Envoy would send
    /// none: a cluster istiod builds no config for, no endpoint, or a circuit breaker's overflow.
    /// `endsWithHead`: the request has no body (and its end, with `trailers` if any, is known
    /// now), so the head and the end go out together: to an h2c pod one HEADERS frame with
    /// END_STREAM, as the request itself goes, not HEADERS and then an empty DATA frame.
    static func start(
        to cluster: Cluster, head: UpstreamRequestHead, endsWithHead: Bool = false, trailers: HTTPHeaders? = nil,
        worker: Worker, timeout: TimeAmount?, requestProtocol: RequestProtocol
    ) -> ShadowRequest? {
        // Envoy skips a shadow whose cluster does not exist (no DestinationRule defines the subset).
        guard cluster.state != .undefinedSubset else { return nil }
        let runtime = worker.clusterRuntime(for: cluster)
        guard let index = runtime.pickEndpoint(hashKey: nil, random: &worker.random, avoiding: nil),
              let pool = runtime.pools[index]
        else { return nil }
        if let limits = runtime.limits, !limits.tryAcquireRequest() {
            runtime.counters.overflows += 1
            return nil
        }
        let slot = index < runtime.workloadSlots.count ? runtime.workloadSlots[index] : 0
        let shadow = ShadowRequest(
            worker: worker, runtime: runtime, pool: pool, workloadSlot: slot, head: head, requestProtocol: requestProtocol)
        shadow.holdsRequestSlot = true
        if endsWithHead {
            // Queued before the pool is asked: a ready connection takes head and end in one go.
            shadow.requestEnded = true
            shadow.queued.append(.end(trailers))
        }
        runtime.counters.activeRequests += 1
        pool.activeRequests += 1
        switch pool.acquire(for: shadow, clientUsesHTTP2: requestProtocol.arrivedOverHTTP2) {
        case .ready(let connection):
            shadow.attach(connection)
        case .pending:
            shadow.waitingForConnection = true
        case .overflow:
            runtime.counters.overflows += 1
            shadow.finished = true
            shadow.releaseRequestSlot()
            return nil
        }
        if let timeout { shadow.armTimeout(timeout) }
        return shadow
    }

    // MARK: the request

    /// Body bytes of the request (the caller keeps them within the mirror's limit).
    func sendBody(_ buffer: ByteBuffer) {
        guard !finished, !requestEnded else { return }
        requestBodyBytes += buffer.readableBytes
        if requestProtocol == .grpc { requestMessages.count(buffer) }
        send(.body(.byteBuffer(buffer)))
    }

    func sendEnd(trailers: HTTPHeaders?) {
        guard !finished, !requestEnded else { return }
        requestEnded = true
        send(.end(trailers))
    }

    private func send(_ part: UpstreamRequestPart) {
        guard let upstream else {
            queued.append(part)
            return
        }
        // No writability wait: what one shadow can hold is bounded by the body limit, and the
        // client's request must never wait for the mirror.
        upstream.write(part, promise: nil)
        upstream.flush()
        if case .end = part { requestWritten = true }
    }

    private func attach(_ connection: any UpstreamTransport) {
        upstream = connection
        connection.delegate = self
        connection.beginRequest()
        connection.write(.head(head), promise: nil)
        for part in queued {
            connection.write(part, promise: nil)
            if case .end = part { requestWritten = true }
        }
        queued = []
        connection.flush()
    }

    /// Gives the shadow up (its body outgrew the limit, its timeout fired, or the client's request
    /// was abandoned before it ended). A request already on the wire is reset, as Envoy resets
    /// the shadow stream; the mirror workload sees its client go (`DC`).
    func cancel() {
        guard !finished else { return }
        if let upstream {
            self.upstream = nil
            upstream.close()
            complete(code: responseCode, flags: .downstreamConnectionTermination)
            return
        }
        if waitingForConnection {
            waitingForConnection = false
            pool.cancel(self)
        }
        // Nothing reached the workload: no request to report.
        end(record: nil)
    }

    private func armTimeout(_ timeout: TimeAmount) {
        timer = worker.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            timer = nil
            cancel()
        }
    }

    // MARK: PoolWaiter

    func poolDidProvide(_ connection: any UpstreamTransport) {
        waitingForConnection = false
        guard !finished else {
            connection.release(reusable: true)
            return
        }
        attach(connection)
    }

    func poolDidFail(_ error: Error) {
        waitingForConnection = false
        // The pool counted the connect failure (upstream_cx_connect_fail); no request reached a workload.
        end(record: nil)
    }

    // MARK: UpstreamConnectionDelegate: the answer is read and dropped

    func upstreamResponseHead(_ head: consuming UpstreamResponseHead) {
        responseCode = head.status
        responseKeepAlive = head.keepsConnectionAlive
        responseHeadSize = Exchange.statusFieldSize + head.fields.headerListSize
        if requestProtocol == .grpc { grpcStatus = head.fields.first(name: "grpc-status") }
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        responseBodyBytes += buffer.readableBytes
        if requestProtocol == .grpc { responseMessages.count(buffer) }
    }

    func upstreamReadComplete() {}

    func upstreamWritabilityChanged() {}

    func upstreamResponseEnd(trailers: HTTPHeaders?) {
        guard !finished, let connection = upstream else { return }
        upstream = nil
        if requestProtocol == .grpc, let status = trailers?.first(name: "grpc-status") { grpcStatus = status }
        if requestWritten {
            connection.release(reusable: responseKeepAlive)
        } else {
            // Answered before the request ended: the connection cannot carry another request.
            connection.close()
        }
        complete(code: responseCode, flags: [])
    }

    func upstreamFailed(_ reason: UpstreamFailure) {
        guard !finished, upstream != nil else { return }
        upstream = nil
        complete(code: responseCode > 0 ? responseCode : reason.status, flags: reason.responseFlag)
    }

    // MARK: the end

    /// Records a shadow that reached the workload, in the mirror cluster's mirrored-request counters.
    private func complete(code: Int, flags: ResponseFlags) {
        end(record: (code, flags))
    }

    private func end(record: (code: Int, flags: ResponseFlags)?) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        timer = nil
        queued = []
        releaseRequestSlot()
        guard let record else { return }
        let milliseconds = Double((NIODeadline.now() - startTime).nanoseconds) / 1_000_000
        let requestHeadSize = Exchange.requestHeadListSize(method: head.method.rawValue, authority: "", path: head.uri, fields: head.fields)
        runtime.counters.mirroredRequests.record(
            code: record.code, flags: record.flags, workload: workloadSlot, milliseconds: milliseconds,
            requestProtocol: requestProtocol, grpcStatus: grpcStatus,
            requestBytes: requestHeadSize + requestBodyBytes, responseBytes: responseHeadSize + responseBodyBytes,
            grpcMessages: requestProtocol == .grpc ? (requestMessages.messages, responseMessages.messages) : nil)
    }

    private func releaseRequestSlot() {
        guard holdsRequestSlot else { return }
        holdsRequestSlot = false
        runtime.counters.activeRequests -= 1
        runtime.limits?.releaseRequest()
        pool.activeRequests -= 1
    }
}

/// Envoy's shadow authority: `-shadow` appended to the host, before the port if there is one
/// (`reviews:9080` → `reviews-shadow:9080`), so the mirror's logs tell shadows apart.
enum ShadowAuthority {
    static func rewrite(_ authority: String) -> String {
        if let colon = authority.lastIndex(of: ":") {
            let port = authority[authority.index(after: colon)...]
            let host = authority[..<colon]
            let hostHasNoOtherColon = !host.contains(":") || (host.hasPrefix("[") && host.hasSuffix("]"))
            if !port.isEmpty, port.allSatisfy(\.isASCIIDigit), !host.isEmpty, hostHasNoOtherColon {
                return host + "-shadow:" + port
            }
        }
        return authority + "-shadow"
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
