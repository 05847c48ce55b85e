import MeshConfig
import MeshRouting
import NIOCore
import NIOHTTP1
import NIOPosix

/// Upstream attempts: endpoint pick, circuit breakers, the pool, retries and timeouts.
extension Exchange: PoolWaiter {
    func attempt() {
        guard !finished, let clusterRuntime else { return }
        let avoid = (forward?.retries.retryIgnorePreviousHosts ?? true) ? triedEndpoints : []
        guard let index = clusterRuntime.pickEndpoint(hashKey: hashKey, random: &worker.random, avoiding: avoid),
              let pool = clusterRuntime.pools[index]
        else {
            flags.insert(.noHealthyUpstream)
            localReply(status: 503, body: "no healthy upstream")
            return
        }
        // Envoy's max_requests breaker (Istio's http2MaxRequests), checked per attempt.
        if let limits = clusterRuntime.limits, !limits.tryAcquireRequest() {
            overflow()
            return
        }
        holdsRequestSlot = true
        clusterRuntime.counters.activeRequests += 1
        pool.activeRequests += 1
        upstreamPool = pool
        triedEndpoints.append(index)
        if index < clusterRuntime.workloadSlots.count { upstreamWorkloadSlot = clusterRuntime.workloadSlots[index] }
        upstreamHost = "\(pool.address.host):\(pool.address.port)"
        attemptStart = .now()
        armPerTryTimeout()
        switch pool.acquire(for: self) {
        case .ready(let connection):
            attach(connection)
        case .pending:
            waitingPool = pool
        case .overflow:
            endAttempt()
            overflow()
        }
    }

    private func overflow() {
        clusterRuntime?.counters.overflows += 1
        flags.insert(.upstreamOverflow)
        localReply(
            status: 503, body: "upstream connect error or disconnect/reset before headers. reset reason: overflow",
            extraHeaders: [("x-envoy-overloaded", "true")])
    }

    /// Releases what the current attempt holds (request slot, pool wait, per-try timer).
    func endAttempt() {
        perTryTimer?.cancel()
        perTryTimer = nil
        if let waitingPool {
            self.waitingPool = nil
            waitingPool.cancel(self)
        }
        if holdsRequestSlot {
            holdsRequestSlot = false
            clusterRuntime?.counters.activeRequests -= 1
            clusterRuntime?.limits?.releaseRequest()
            upstreamPool?.activeRequests -= 1
        }
    }

    func poolDidProvide(_ connection: any UpstreamTransport) {
        waitingPool = nil
        guard !finished else {
            connection.release(reusable: true)
            return
        }
        attach(connection)
    }

    func poolDidFail(_ error: Error) {
        waitingPool = nil
        guard !finished else { return }
        endAttempt()
        lastResetReason = "remote connection failure, transport failure reason: \(Self.describeConnectError(error))"
        if canRetry(.connectFailure) {
            retry()
            return
        }
        flags.insert(.upstreamConnectionFailure)
        if retriesDone > 0 { flags.insert(.upstreamRetryLimitExceeded) }
        localReply(status: 503, body: resetBody())
    }

    /// Envoy's words for a failed connect (`delayed connect error: Connection refused`).
    static func describeConnectError(_ error: Error) -> String {
        if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first {
            return describeConnectError(first.error)
        }
        if let io = error as? IOError {
            return "delayed connect error: \(String(cString: strerror(io.errnoCode)))"
        }
        if case ChannelError.connectTimeout = error { return "connection timeout" }
        return "\(error)"
    }

    func resetBody() -> String {
        let lead = retriesDone > 0 ? "retried and the latest reset reason" : "reset reason"
        return "upstream connect error or disconnect/reset before headers. \(lead): \(lastResetReason)"
    }

    /// Sends the request head (and whatever body is already here) on a pooled connection.
    func attach(_ connection: any UpstreamTransport) {
        upstream = connection
        connection.delegate = self
        connection.beginRequest()
        upstreamRequestEnded = false
        connection.write(.head(upstreamRequestHead()), promise: nil)
        drainPendingBody()
    }

    // MARK: retries

    enum RetryTrigger {
        case connectFailure
        case reset
        case status(Int)
        case perTryTimeout
    }

    func canRetry(_ trigger: RetryTrigger) -> Bool {
        guard let forward, retriesDone < retryBudget, !responseStarted, replay != nil else { return false }
        return RetryRules.allows(trigger, policy: forward.retries, header: head.headers.first(name: "x-envoy-retry-on"))
    }

    /// Starts another attempt after Envoy's jittered backoff (25 ms base), replaying the body.
    func retry(countAgainstBudget: Bool = true) {
        if countAgainstBudget { retriesDone += 1 }
        clusterRuntime?.counters.retries += 1
        pendingBody = CircularBuffer(replay ?? [])
        pendingBytes = replayBytes
        let backoff = RetryRules.backoff(retry: max(retriesDone, 1), base: forward.flatMap { RetryRules.baseInterval($0.retries) }, random: &worker.random)
        waitTimer = worker.eventLoop.assumeIsolated().scheduleTask(in: backoff) { [self] in
            waitTimer = nil
            attempt()
        }
    }

    // MARK: timeouts

    func armRouteTimeout() {
        guard routeTimer == nil, !finished, let routeTimeout else { return }
        routeTimer = worker.eventLoop.assumeIsolated().scheduleTask(in: routeTimeout) { [self] in
            routeTimer = nil
            timedOut()
        }
    }

    private func armPerTryTimeout() {
        guard let forward, let perTry = RetryRules.perTryTimeout(forward.retries), perTry.nanoseconds > 0 else { return }
        perTryTimer = worker.eventLoop.assumeIsolated().scheduleTask(in: perTry) { [self] in
            perTryTimer = nil
            guard !finished, !responseStarted else { return }
            abandonUpstream()
            endAttempt()
            if canRetry(.perTryTimeout) {
                retry()
            } else {
                timedOut()
            }
        }
    }

    /// The route timeout (504 UT), or the last per-try timeout.
    private func timedOut() {
        guard !finished else { return }
        flags.insert(.upstreamRequestTimeout)
        abandonUpstream()
        waitTimer?.cancel()
        waitTimer = nil
        if responseStarted {
            downstream.abort()
            finish(notifyDownstream: false)
            downstream.exchangeFinished(self, closeConnection: true)
        } else {
            localReply(status: 504, body: "upstream request timeout")
        }
    }

    /// Drops the current upstream connection mid-exchange; it cannot be reused.
    func abandonUpstream() {
        if let upstream {
            self.upstream = nil
            upstream.close()
        }
    }
}

/// How retry policies read: Istio's VirtualService `retries`, overridable by Envoy's
/// `x-envoy-max-retries` / `x-envoy-retry-on` request headers.
enum RetryRules {
    static func budget(policy: RetryPolicy, header: String?) -> Int {
        if let header, let value = Int(header), value >= 0 { return value }
        return max(0, policy.attempts)
    }

    /// Looks each condition up where it is written, building no set: this runs for every
    /// response (`canRetry(.status)`), and most statuses need no lookup at all.
    static func allows(_ trigger: Exchange.RetryTrigger, policy: RetryPolicy, header: String?) -> Bool {
        func on(_ condition: String) -> Bool {
            if policy.retryOn.contains(condition) { return true }
            guard let header else { return false }
            return header.split(separator: ",").contains { $0.trimmingASCIIWhitespace() == condition }
        }
        switch trigger {
        case .connectFailure:
            return on("connect-failure") || on("5xx") || on("gateway-error") || on("reset")
        case .reset:
            return on("reset") || on("5xx") || on("gateway-error")
        case .perTryTimeout:
            return on("5xx") || on("gateway-error") || on("reset")
        case .status(let status):
            if status >= 500 && on("5xx") { return true }
            if (status == 502 || status == 503 || status == 504) && on("gateway-error") { return true }
            if status == 409 && on("retriable-4xx") { return true }
            if policy.retriableStatusCodes.contains(status) && on("retriable-status-codes") { return true }
            return false
        }
    }

    static func perTryTimeout(_ policy: RetryPolicy) -> TimeAmount? {
        policy.perTryTimeout.map { .nanoseconds($0.nanoseconds) }
    }

    static func baseInterval(_ policy: RetryPolicy) -> TimeAmount? {
        policy.backoff.map { .nanoseconds($0.nanoseconds) }
    }

    /// Envoy's fully jittered exponential backoff: uniform in [0, base·(2ⁿ−1)], capped at 10·base.
    static func backoff(retry: Int, base: TimeAmount?, random: inout FastRandom) -> TimeAmount {
        let baseMilliseconds = max(1, Int((base ?? .milliseconds(25)).nanoseconds / 1_000_000))
        let ceiling = min(baseMilliseconds * ((1 << min(retry, 10)) - 1), baseMilliseconds * 10)
        return .milliseconds(Int64(random.below(ceiling + 1)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
