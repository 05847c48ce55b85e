import Foundation
import MeshConfig

/// A route's retry policy, as Istio hands it to Envoy. A class: the proxy keeps one per request,
/// and a struct copy retained each of its arrays and durations.
public final class RetryPolicy: Sendable, Hashable {
    /// Retries after the first try (Envoy's `num_retries`); 0 disables retries.
    public let attempts: Int
    /// Envoy retry conditions (`connect-failure`, `5xx`, `retriable-status-codes`, …).
    public let retryOn: [String]
    /// Status codes retried under `retriable-status-codes`.
    public let retriableStatusCodes: [Int]
    public let perTryTimeout: IstioDuration?
    /// Prefer a host not tried yet (Envoy's previous_hosts predicate); Istio's default is on.
    public let retryIgnorePreviousHosts: Bool
    public let backoff: IstioDuration?
    /// `retryOn` as bits, parsed once when the config compiles (checked on every response).
    public let conditions: RetryOn

    public init(
        attempts: Int, retryOn: [String], retriableStatusCodes: [Int] = [], perTryTimeout: IstioDuration? = nil,
        retryIgnorePreviousHosts: Bool = true, backoff: IstioDuration? = nil
    ) {
        self.attempts = attempts
        self.retryOn = retryOn
        self.retriableStatusCodes = retriableStatusCodes
        self.perTryTimeout = perTryTimeout
        self.retryIgnorePreviousHosts = retryIgnorePreviousHosts
        self.backoff = backoff
        self.conditions = RetryOn(retryOn)
    }

    public static func == (lhs: RetryPolicy, rhs: RetryPolicy) -> Bool {
        lhs.attempts == rhs.attempts && lhs.retryOn == rhs.retryOn && lhs.retriableStatusCodes == rhs.retriableStatusCodes
            && lhs.perTryTimeout == rhs.perTryTimeout && lhs.retryIgnorePreviousHosts == rhs.retryIgnorePreviousHosts
            && lhs.backoff == rhs.backoff
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(attempts)
        hasher.combine(retryOn)
        hasher.combine(retriableStatusCodes)
        hasher.combine(perTryTimeout)
        hasher.combine(retryIgnorePreviousHosts)
        hasher.combine(backoff)
    }

    /// Istio's mesh default (pilot `retry.DefaultPolicy`): 2 retries on connect-failure,
    /// refused-stream, unavailable and cancelled. `retriable-status-codes` is named but lists no
    /// code: since Istio 1.24 a 503 from the application is not retried by default (retrying a
    /// request the application may have processed is unsafe; `EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY`,
    /// removed with the 1.23 compatibility profile). A VirtualService asks for it with
    /// `retryOn: ...,503` or `5xx`.
    public static let istioDefault = RetryPolicy(
        attempts: 2, retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"],
        retriableStatusCodes: [])

    public static let disabled = RetryPolicy(attempts: 0, retryOn: [], retryIgnorePreviousHosts: false)

    public var isEnabled: Bool { attempts > 0 }

    /// Istio's ConvertPolicy: nil keeps the default; `attempts: 0` disables; otherwise the
    /// default with the given fields replaced. Numbers in `retryOn` are status codes.
    static func converting(_ retry: HTTPRetry?) -> RetryPolicy {
        guard let retry else { return .istioDefault }
        guard let attempts = retry.attempts, attempts > 0 else { return .disabled }
        var retryOn = RetryPolicy.istioDefault.retryOn
        var codes = RetryPolicy.istioDefault.retriableStatusCodes
        if let text = retry.retryOn, !text.isEmpty {
            retryOn = []
            codes = []
            for part in text.split(separator: ",") {
                let item = part.trimmingCharacters(in: .whitespaces)
                if item.isEmpty { continue }
                if let code = Int(item), (100...599).contains(code) {
                    codes.append(code)
                } else {
                    retryOn.append(item)
                }
            }
            if !codes.isEmpty && !retryOn.contains("retriable-status-codes") { retryOn.append("retriable-status-codes") }
        }
        return RetryPolicy(
            attempts: Int(attempts), retryOn: retryOn, retriableStatusCodes: codes, perTryTimeout: retry.perTryTimeout,
            retryIgnorePreviousHosts: retry.retryIgnorePreviousHosts ?? true, backoff: retry.backoff)
    }
}

/// Fault injection of a route (Envoy's fault filter, per route).
public struct FaultPolicy: Sendable, Hashable {
    public struct Delay: Sendable, Hashable {
        public let duration: IstioDuration
        /// Share of requests delayed, in percent (0–100).
        public let percentage: Double
        /// The same share as Envoy stores it: parts per million.
        public let perMillion: UInt32
    }
    public struct Abort: Sendable, Hashable {
        /// HTTP status to answer with (a gRPC abort carries 200 with `grpc-status`).
        public let httpStatus: Int?
        public let grpcStatus: String?
        public let percentage: Double
        public let perMillion: UInt32
    }
    public let delay: Delay?
    public let abort: Abort?

    /// Istio's TranslateFault: `percentage` (or the deprecated integer `percent`) unset means
    /// 0%, so nothing is injected; exponential delays are not supported (dropped, as Istio does).
    init?(_ fault: HTTPFaultInjection?) {
        guard let fault else { return nil }
        var delay: Delay? = nil
        if let d = fault.delay, let fixed = d.fixedDelay {
            let percent = d.percentage?.value ?? Double(d.percent ?? 0)
            delay = Delay(duration: fixed, percentage: percent, perMillion: FaultPolicy.perMillion(percent))
        }
        var abort: Abort? = nil
        if let a = fault.abort, a.httpStatus != nil || a.grpcStatus != nil {
            let percent = a.percentage?.value ?? 0
            abort = Abort(
                httpStatus: a.httpStatus.map(Int.init), grpcStatus: a.grpcStatus, percentage: percent,
                perMillion: FaultPolicy.perMillion(percent))
        }
        guard delay != nil || abort != nil else { return nil }
        self.delay = delay
        self.abort = abort
    }

    static func perMillion(_ percent: Double) -> UInt32 {
        UInt32(max(0, min(100, percent)) * 10_000)
    }
}

/// A request mirror (shadow): a copy goes to `cluster` for `percentage` of requests; its
/// answer is dropped.
public struct MirrorPolicy: Sendable, Hashable {
    public let cluster: Cluster
    public let percentage: Double
}

/// The Envoy `retry_on` conditions the proxy acts on, as bits: HTTP ones, and gRPC's
/// (`cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`), which
/// Envoy matches against the `grpc-status` of a trailers-only answer. `refused-stream` is the
/// transport's (a stream the server refused unprocessed is retried without spending the budget).
public struct RetryOn: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16

    public static let connectFailure = RetryOn(rawValue: 1 << 0)
    public static let fiveXX = RetryOn(rawValue: 1 << 1)
    public static let gatewayError = RetryOn(rawValue: 1 << 2)
    public static let reset = RetryOn(rawValue: 1 << 3)
    public static let retriable4xx = RetryOn(rawValue: 1 << 4)
    public static let retriableStatusCodes = RetryOn(rawValue: 1 << 5)
    public static let grpcCancelled = RetryOn(rawValue: 1 << 6)
    public static let grpcDeadlineExceeded = RetryOn(rawValue: 1 << 7)
    public static let grpcInternal = RetryOn(rawValue: 1 << 8)
    public static let grpcResourceExhausted = RetryOn(rawValue: 1 << 9)
    public static let grpcUnavailable = RetryOn(rawValue: 1 << 10)
    public static let grpcConditions: RetryOn = [.grpcCancelled, .grpcDeadlineExceeded, .grpcInternal, .grpcResourceExhausted, .grpcUnavailable]

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Whether a trailers-only answer with gRPC status `code` is one to retry.
    public func retriesGRPCStatus(_ code: Int) -> Bool {
        switch code {
        case 1: return contains(.grpcCancelled)
        case 4: return contains(.grpcDeadlineExceeded)
        case 8: return contains(.grpcResourceExhausted)
        case 13: return contains(.grpcInternal)
        case 14: return contains(.grpcUnavailable)
        default: return false
        }
    }

    /// From condition names (`5xx`, `gateway-error`, …), spaces around each ignored.
    public init<Tokens: Sequence>(_ tokens: Tokens) where Tokens.Element: StringProtocol {
        var bits: RetryOn = []
        for token in tokens {
            switch token.trimmingSpacesAndTabs() {
            case "connect-failure": bits.insert(.connectFailure)
            case "5xx": bits.insert(.fiveXX)
            case "gateway-error": bits.insert(.gatewayError)
            case "reset": bits.insert(.reset)
            case "retriable-4xx": bits.insert(.retriable4xx)
            case "retriable-status-codes": bits.insert(.retriableStatusCodes)
            case "cancelled": bits.insert(.grpcCancelled)
            case "deadline-exceeded": bits.insert(.grpcDeadlineExceeded)
            case "internal": bits.insert(.grpcInternal)
            case "resource-exhausted": bits.insert(.grpcResourceExhausted)
            case "unavailable": bits.insert(.grpcUnavailable)
            default: break
            }
        }
        self = bits
    }
}

extension StringProtocol {
    fileprivate func trimmingSpacesAndTabs() -> String {
        let isBlank = { (character: Character) in character == " " || character == "\t" }
        var start = startIndex
        var end = endIndex
        while start < end, isBlank(self[start]) { start = index(after: start) }
        while end > start, isBlank(self[index(before: end)]) { end = index(before: end) }
        return String(self[start..<end])
    }
}
