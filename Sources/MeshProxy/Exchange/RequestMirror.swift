import MeshRouting
import NIOCore
import NIOHTTP1

/// The shadows of one exchange: a route's `mirror`/`mirrors` as Envoy's request mirror policies
/// run them. Each policy draws its percentage on the event loop's seeded generator; a chosen
/// one sends a copy of the request, as it goes upstream but with `-shadow` appended to its Host,
/// to an endpoint of the mirror cluster. The body streams to the shadows as it arrives, up to
/// the retry buffer limit: a body that outgrows it resets them (a declared longer one starts
/// none), so a shadow never holds more than that and never slows the client.
final class RequestMirror {
    private var shadows: [ShadowRequest]
    private var bodyBytes: Int
    private let bodyLimit: Int
    /// The primary cluster's counters, where Envoy counts a shadow given up for its body
    /// (`retry_or_shadow_abandoned`).
    private let primaryCounters: WorkerStats.ClusterCounters?

    private init(shadows: [ShadowRequest], bodyBytes: Int, bodyLimit: Int, primaryCounters: WorkerStats.ClusterCounters?) {
        self.shadows = shadows
        self.bodyBytes = bodyBytes
        self.bodyLimit = bodyLimit
        self.primaryCounters = primaryCounters
    }

    /// Starts the shadows of an exchange that is about to go upstream (routed, past its faults,
    /// with an endpoint to go to: Envoy's router starts shadows there). nil when none is sent.
    static func start(for exchange: Exchange) -> RequestMirror? {
        guard let forward = exchange.forward, !forward.mirrors.isEmpty, exchange.upgrade == nil else { return nil }
        let worker = exchange.worker
        let chosen = forward.mirrors.filter { worker.random.chance(percent: $0.percentage) }
        guard !chosen.isEmpty else { return nil }
        let limit = worker.configuration.limits.retryBufferBytes
        let counters = exchange.clusterRuntime?.counters
        let declaredLength = exchange.head.first(.contentLength).flatMap(Int.init) ?? 0
        // The body so far is the exchange's replay buffer (nil once it outgrew the same limit).
        guard let bodySoFar = exchange.replay, declaredLength <= limit else {
            counters?.shadowsAbandoned += 1
            return nil
        }
        let head = exchange.upstreamRequestHead()
        head.fields.replaceOrAdd(name: "host", value: ShadowAuthority.rewrite(head.fields.first(name: "host") ?? ""))
        let requestComplete = exchange.requestEnded || exchange.requestFraming == .none
        // A request without body goes out whole with its head (see `ShadowRequest.start`).
        let bodyless = requestComplete && bodySoFar.allSatisfy { $0.readableBytes == 0 }
        let shadows = chosen.compactMap { policy in
            ShadowRequest.start(
                to: policy.cluster, head: head, endsWithHead: bodyless, trailers: bodyless ? exchange.requestTrailers : nil,
                worker: worker, timeout: exchange.routeTimeout, requestProtocol: exchange.requestProtocol)
        }
        guard !shadows.isEmpty else { return nil }
        let mirror = RequestMirror(shadows: shadows, bodyBytes: exchange.replayBytes, bodyLimit: limit, primaryCounters: counters)
        for buffer in bodySoFar {
            for shadow in shadows { shadow.sendBody(buffer) }
        }
        if requestComplete { mirror.end(trailers: exchange.requestTrailers) }
        return mirror
    }

    /// More of the client's request body.
    func sendBody(_ buffer: ByteBuffer) {
        guard !shadows.isEmpty else { return }
        bodyBytes += buffer.readableBytes
        guard bodyBytes <= bodyLimit else {
            primaryCounters?.shadowsAbandoned += 1
            cancelUnfinished()
            return
        }
        for shadow in shadows { shadow.sendBody(buffer) }
    }

    /// The client's request ended; the shadows go on alone.
    func end(trailers: HTTPHeaders?) {
        for shadow in shadows { shadow.sendEnd(trailers: trailers) }
        shadows.removeAll { $0.requestEnded || $0.finished }
    }

    /// The exchange is over. Shadows whose request is whole run to their end; one still waiting
    /// for body the client will not send is reset, as Envoy cancels such shadow streams.
    func exchangeFinished() {
        cancelUnfinished()
    }

    private func cancelUnfinished() {
        for shadow in shadows where !shadow.requestEnded { shadow.cancel() }
        shadows.removeAll()
    }
}
