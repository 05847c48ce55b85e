import NIOConcurrencyHelpers

/// What a simulated pod has done since it started.
public struct BackendStats: Sendable, Hashable {
    /// Requests answered, whatever the status (injected errors and rejections included; a
    /// WebSocket handshake answered 101 counts when the 101 is written).
    public var requestsServed = 0
    /// Of `requestsServed`, the WebSocket handshakes answered 101 (each then an echo session).
    public var webSocketUpgrades = 0
    /// Answers replaced by the profile's error code (`meshsim.dev/error-rate`).
    public var errorsInjected = 0
    /// Requests answered 503 at once because `meshsim.dev/max-concurrency` were in flight.
    public var rejectedOverConcurrency = 0
    /// Requests admitted and not yet answered.
    public var inFlight = 0
    public var connectionsAccepted = 0
    /// Request body bytes read (and discarded) over finished requests.
    public var requestBodyBytes = 0
    /// Requests that did not parse as HTTP/1.1 (answered 400, connection closed).
    public var malformedRequests = 0

    public init() {}
}

/// What a request was granted when it started: the behaviour it runs with (a fleet update may
/// swap the pod's behaviour; a request keeps the one it started with) and the draws for it.
struct Admission {
    enum Outcome { case normal, injectedError, rejectedOverConcurrency }
    let behavior: PodBehavior
    let outcome: Outcome
    let latencyNanoseconds: Int64
}

/// The state one pod shares across event loops: its behaviour, its generator and its counters,
/// behind one lock taken once when a request starts and once when it ends.
final class PodCore: Sendable {
    private struct State {
        var behavior: PodBehavior
        var random: SeededRandom
        var stats = BackendStats()
    }

    private let state: NIOLockedValueBox<State>

    init(behavior: PodBehavior, seed: UInt64) {
        state = NIOLockedValueBox(State(behavior: behavior, random: SeededRandom(seed: seed)))
    }

    var behavior: PodBehavior { state.withLockedValue { $0.behavior } }
    var stats: BackendStats { state.withLockedValue { $0.stats } }

    func replaceBehavior(_ behavior: PodBehavior) {
        state.withLockedValue { $0.behavior = behavior }
    }

    /// Admits a request (counting it in flight) or rejects it over max-concurrency, and draws
    /// its error and latency from the pod's generator.
    func admit() -> Admission {
        state.withLockedValue { state in
            let profile = state.behavior.profile
            if let limit = profile.maxConcurrency, state.stats.inFlight >= limit {
                state.stats.rejectedOverConcurrency += 1
                return Admission(behavior: state.behavior, outcome: .rejectedOverConcurrency, latencyNanoseconds: 0)
            }
            state.stats.inFlight += 1
            let failed = profile.errorRate > 0 && state.random.nextUnit() < profile.errorRate
            let latency = profile.latency.sample(using: &state.random)
            return Admission(behavior: state.behavior, outcome: failed ? .injectedError : .normal, latencyNanoseconds: latency)
        }
    }

    /// Ends an admitted (or rejected) request; `answered` is false when its connection went first.
    func complete(_ admission: Admission, answered: Bool, bodyBytes: Int, upgradedToWebSocket: Bool = false) {
        state.withLockedValue { state in
            if admission.outcome != .rejectedOverConcurrency { state.stats.inFlight -= 1 }
            state.stats.requestBodyBytes += bodyBytes
            guard answered else { return }
            state.stats.requestsServed += 1
            if admission.outcome == .injectedError { state.stats.errorsInjected += 1 }
            if upgradedToWebSocket { state.stats.webSocketUpgrades += 1 }
        }
    }

    func recordMalformedRequest() {
        state.withLockedValue { $0.stats.malformedRequests += 1 }
    }

    func recordConnection() {
        state.withLockedValue { $0.stats.connectionsAccepted += 1 }
    }
}
