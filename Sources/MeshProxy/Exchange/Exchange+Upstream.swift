import MeshConfig
import MeshRouting
import NIOCore
import NIOHTTP1
import NIOPosix

/// Upstream attempts: endpoint pick, circuit breakers, the pool, retries and timeouts.
extension Exchange: PoolWaiter {
    func attempt() {
        guard !finished, let runtime = lentClusterRuntime else { return }
        runtime._withUnsafeGuaranteedRef { attempt(on: $0) }
    }

    /// `upstreamPool` lent to a call that does not set it (only the start of an attempt does).
    var lentUpstreamPool: Unmanaged<EndpointPool>? {
        upstreamPool.map { Unmanaged.passUnretained($0) }
    }

    private func attempt(on clusterRuntime: ClusterRuntime) {
        if currentEndpoint >= 0 { previousEndpoints.append(currentEndpoint) }
        // A first attempt has nothing to avoid (and need not read the policy: a retain and a release).
        let picked = currentEndpoint >= 0 && (retryPolicy?.retryIgnorePreviousHosts ?? true)
            ? clusterRuntime.pickEndpoint(hashKey: hashKey, random: &worker.random, avoiding: previousEndpoints)
            : clusterRuntime.pickEndpoint(hashKey: hashKey, random: &worker.random, avoiding: nil)
        guard let index = picked, let pool = clusterRuntime.pools[index]
        else {
            flags.insert(.noHealthyUpstream)
            localReply(status: 503, body: "no healthy upstream")
            return
        }
        let clientUsesHTTP2 = http2Downstream != nil
        if upgrade != nil, pool.usesHTTP2(clientUsesHTTP2: clientUsesHTTP2) {
            // Envoy would carry the WebSocket as an RFC 8441 extended CONNECT, which needs the
            // h2c pod to accept it; meshsim's pods and proxy do not speak it: the upstream
            // reset Envoy would see instead.
            flags.insert(.upstreamRemoteReset)
            localReply(status: 503, body: "upstream connect error or disconnect/reset before headers. reset reason: protocol error")
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
        // Lent below: `upstreamPool` holds it, and nothing sets that again before a next attempt
        // (which a timer starts).
        let lentPool = Unmanaged.passUnretained(pool)
        upstreamPool.fill(with: consume pool)
        currentEndpoint = index
        if index < clusterRuntime.workloadSlots.count { upstreamWorkloadSlot = clusterRuntime.workloadSlots[index] }
        // The first attempt of a request no fault delayed runs in the call that started the
        // exchange (routing is synchronous), so the start time serves: one clock read fewer per
        // request. A delayed or retried attempt starts now.
        attemptStart = previousEndpoints.isEmpty && !flags.contains(.delayInjected) ? startTime : .now()
        armPerTryTimeout()
        switch lentPool._withUnsafeGuaranteedRef({ $0.acquire(for: self, clientUsesHTTP2: clientUsesHTTP2) }) {
        case .ready(let connection):
            attach(connection)
        case .pending:
            waitingPool = lentPool.takeUnretainedValue()
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
        reportOutlier(.connectFailed)
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
        reportOutlier(.connected)
        upstream.fill(with: connection)
        connection.delegate = self
        connection.beginRequest()
        upstreamRequestEnded = false
        let direct = writesHeadDirectly  // Read once: each read retains the route's storage.
        // The lent views below are used while the caller's `connection` holds the transport.
        if direct, let http1 = connection.lentHTTP1 {
            http1._withUnsafeGuaranteedRef { writeHTTP1RequestHead(to: $0) }
        } else if direct, requestEnded, pendingBody.isEmpty, requestTrailers == nil, let http2 = connection.lentHTTP2 {
            // A complete bodyless request (an HTTP/2 client's HEADERS with END_STREAM) goes out
            // whole at once: the stream need not wait for body or end.
            upstreamRequestEnded = true
            http2._withUnsafeGuaranteedRef { writeHTTP2Request(to: $0) }
        } else {
            connection.write(.head(upstreamRequestHead()), promise: nil)
        }
        // Still attached (nothing failed it while the head was written): `upstream` is `connection`,
        // passed on as the caller holds it (read from `upstream`, it was retained and released).
        guard upstream != nil else { return }
        drainPendingBody(to: connection)
    }

    // MARK: retries

    enum RetryTrigger {
        case connectFailure
        case reset
        case status(Int)
        /// A trailers-only gRPC answer with this `grpc-status`.
        case grpcStatus(Int)
        case perTryTimeout
    }

    func canRetry(_ trigger: RetryTrigger) -> Bool {
        // The policy is read (a retain) only for its status codes, and only when they count.
        guard lentRetryPolicy != nil, retriesDone < retryBudget, !responseStarted, replay != nil else { return false }
        guard retryConditions.contains(.retriableStatusCodes), let policy = lentRetryPolicy else {
            return RetryRules.allows(trigger, conditions: retryConditions, retriableStatusCodes: Self.noStatusCodes)
        }
        // Lent (`forward` holds it): its codes are read in place, without a retain of the array.
        return policy._withUnsafeGuaranteedRef {
            RetryRules.allows(trigger, conditions: retryConditions, retriableStatusCodes: $0.retriableStatusCodes)
        }
    }

    /// No retriable status codes, passed without the retain and release of a new `[]`.
    private static let noStatusCodes: [Int] = []

    /// Starts another attempt after Envoy's jittered backoff (25 ms base), replaying the body.
    func retry(countAgainstBudget: Bool = true) {
        if countAgainstBudget { retriesDone += 1 }
        clusterRuntime?.counters.retries += 1
        pendingBody = replay ?? []
        pendingBytes = replayBytes
        let backoff = RetryRules.backoff(retry: max(retriesDone, 1), base: retryPolicy.flatMap { RetryRules.baseInterval($0) }, random: &worker.random)
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
        guard let policy = lentRetryPolicy, let perTry = policy._withUnsafeGuaranteedRef({ RetryRules.perTryTimeout($0) }),
              perTry.nanoseconds > 0 else { return }
        perTryTimer = worker.eventLoop.assumeIsolated().scheduleTask(in: perTry) { [self] in
            perTryTimer = nil
            guard !finished, !responseStarted else { return }
            reportOutlierTimeout()
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
        reportOutlierTimeout()
        flags.insert(.upstreamRequestTimeout)
        abandonUpstream()
        waitTimer?.cancel()
        waitTimer = nil
        if responseStarted {
            downstream.abort()
            finish(notifyDownstream: false)
            downstream.exchangeFinished(self, closeConnection: true)
        } else {
            // A gRPC call gets DEADLINE_EXCEEDED (Envoy since #44479; the 504's mapping,
            // UNAVAILABLE, invited clients to retry a call whose deadline had passed).
            localReply(status: 504, body: "upstream request timeout", grpcCode: 4)
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
        return budget(policy: policy)
    }

    /// The policy's own budget (no `x-envoy-max-retries`).
    static func budget(policy: RetryPolicy) -> Int {
        max(0, policy.attempts)
    }

    /// The conditions in force: the policy's, plus those of an `x-envoy-retry-on` header.
    static func conditions(policy: RetryPolicy, header: String?) -> RetryOn {
        guard let header else { return policy.conditions }
        return policy.conditions.union(RetryOn(header.split(separator: ",")))
    }

    static func allows(_ trigger: Exchange.RetryTrigger, conditions on: RetryOn, retriableStatusCodes: [Int]) -> Bool {
        switch trigger {
        case .connectFailure:
            return !on.isDisjoint(with: [.connectFailure, .fiveXX, .gatewayError, .reset])
        case .reset:
            return !on.isDisjoint(with: [.reset, .fiveXX, .gatewayError])
        case .perTryTimeout:
            return !on.isDisjoint(with: [.fiveXX, .gatewayError, .reset])
        case .status(let status):
            if on.contains(.fiveXX) && status >= 500 { return true }
            if on.contains(.gatewayError) && (status == 502 || status == 503 || status == 504) { return true }
            if on.contains(.retriable4xx) && status == 409 { return true }
            if on.contains(.retriableStatusCodes) && retriableStatusCodes.contains(status) { return true }
            return false
        case .grpcStatus(let code):
            return on.retriesGRPCStatus(code)
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
