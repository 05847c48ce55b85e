import MeshConfig
import NIOCore

/// The outlier detection Envoy runs for a cluster, as Istio's cluster builder configures it from a
/// DestinationRule's `outlierDetection` (`applyOutlierDetection` in
/// pilot/pkg/networking/core/cluster_traffic_policy.go), with Envoy's defaults for what Istio leaves
/// unset (envoy/config/cluster/v3/outlier_detection.proto).
///
/// Istio sets an `enforcing_*` percentage only to 0 or 100, so enforcement is a yes or no here.
/// Success-rate and failure-percentage detection are left out: Istio sets their enforcement to 0.
struct OutlierPolicy: Hashable, Sendable {
    /// Consecutive 5xx (locally originated failures included unless split) before an ejection;
    /// 0 never ejects. Unset: Envoy's 5, enforced.
    var consecutive5xx: UInt32
    var enforcesConsecutive5xx: Bool
    /// Consecutive 502/503/504 before an ejection; 0 never ejects. Unset: Envoy detects after 5
    /// but enforces 0% (counted in `ejections_detected_consecutive_gateway_failure` only).
    var consecutiveGatewayFailure: UInt32
    var enforcesConsecutiveGatewayFailure: Bool
    /// Whether connect failures, resets and timeouts have their own counter instead of counting
    /// as 503/504.
    var splitExternalLocalOriginErrors: Bool
    /// Consecutive locally originated failures before an ejection, when split (Envoy's default 5,
    /// enforced 100%).
    var consecutiveLocalOriginFailure: UInt32
    var enforcesConsecutiveLocalOriginFailure: Bool
    /// Between un-ejection sweeps (and ejection-backoff decay).
    var interval: TimeAmount
    var baseEjectionTime: TimeAmount
    /// Envoy's `max_ejection_time`: Istio sets none, so 300s or the base time if that is longer.
    var maxEjectionTime: TimeAmount
    /// Percent of the cluster's hosts that may be ejected at once (1…100); Envoy's default 10.
    var maxEjectionPercent: UInt32
    /// Envoy's `healthy_panic_threshold` (Istio's `minHealthPercent`, 0 when unset, which
    /// disables the panic mode). Below it the balancer ignores ejections.
    var healthyPanicThreshold: UInt32
    /// Istio's `outlierDetectionHttpErrorCodes` (Envoy's HTTP error matcher on `:status`); nil:
    /// 5xx are errors.
    var errorStatusCodes: Set<Int>?

    static let defaultInterval = TimeAmount.seconds(10)
    static let defaultBaseEjectionTime = TimeAmount.seconds(30)
    static let defaultMaxEjectionTime = TimeAmount.seconds(300)
    static let defaultConsecutiveErrors: UInt32 = 5
    static let defaultMaxEjectionPercent: UInt32 = 10
    /// Envoy's own panic threshold, used only when Istio leaves it unset (a negative minHealthPercent).
    static let envoyDefaultPanicThreshold: UInt32 = 50

    init(_ settings: OutlierDetection) {
        // A threshold Istio sets is enforced when above 0; 0 turns the detection off.
        if let value = settings.consecutive5xxErrors {
            consecutive5xx = value
            enforcesConsecutive5xx = value > 0
        } else {
            consecutive5xx = Self.defaultConsecutiveErrors
            enforcesConsecutive5xx = true
        }
        if let value = settings.consecutiveGatewayErrors {
            consecutiveGatewayFailure = value
            enforcesConsecutiveGatewayFailure = value > 0
        } else {
            consecutiveGatewayFailure = Self.defaultConsecutiveErrors
            enforcesConsecutiveGatewayFailure = false
        }
        // The deprecated `consecutiveErrors` is ignored, as Istio has since 1.7 (validation warns).
        splitExternalLocalOriginErrors = settings.splitExternalLocalOriginErrors ?? false
        if splitExternalLocalOriginErrors, let value = settings.consecutiveLocalOriginFailures, value > 0 {
            consecutiveLocalOriginFailure = value
        } else {
            consecutiveLocalOriginFailure = Self.defaultConsecutiveErrors
        }
        enforcesConsecutiveLocalOriginFailure = true
        interval = Self.positive(settings.interval) ?? Self.defaultInterval
        baseEjectionTime = Self.positive(settings.baseEjectionTime) ?? Self.defaultBaseEjectionTime
        maxEjectionTime = max(Self.defaultMaxEjectionTime, baseEjectionTime)
        if let percent = settings.maxEjectionPercent, percent > 0 {
            maxEjectionPercent = UInt32(min(percent, 100))
        } else {
            maxEjectionPercent = Self.defaultMaxEjectionPercent
        }
        let minHealth = settings.minHealthPercent ?? 0
        healthyPanicThreshold = minHealth >= 0 ? UInt32(min(minHealth, 100)) : Self.envoyDefaultPanicThreshold
        if let codes = settings.outlierDetectionHttpErrorCodes, !codes.isEmpty {
            errorStatusCodes = Set(codes.map { Int($0) })
        } else {
            errorStatusCodes = nil
        }
    }

    private static func positive(_ duration: IstioDuration?) -> TimeAmount? {
        guard let duration, duration.nanoseconds > 0 else { return nil }
        return .nanoseconds(duration.nanoseconds)
    }

    func enforces(_ type: OutlierEjectionType) -> Bool {
        switch type {
        case .consecutive5xx: return enforcesConsecutive5xx
        case .consecutiveGatewayFailure: return enforcesConsecutiveGatewayFailure
        case .consecutiveLocalOriginFailure: return enforcesConsecutiveLocalOriginFailure
        }
    }

    /// The status outlier detection counts for a response: with error codes configured, a
    /// matching response counts as its own status if 5xx, else as 500, and any other as 200
    /// (Envoy's HTTP error matcher); without, a gRPC status in the head counts as the HTTP status
    /// Envoy maps it to, otherwise the HTTP status itself.
    func reportedStatus(httpStatus: Int, grpcStatus: Int?) -> Int {
        if let errorStatusCodes {
            guard errorStatusCodes.contains(httpStatus) else { return 200 }
            return (500..<600).contains(httpStatus) ? httpStatus : 500
        }
        if let grpcStatus { return Self.httpStatus(forGRPCStatus: grpcStatus) }
        return httpStatus
    }

    /// Envoy's `Grpc::Utility::grpcToHttpStatus`.
    static func httpStatus(forGRPCStatus status: Int) -> Int {
        switch status {
        case 0: return 200  // OK
        case 1: return 499  // CANCELLED
        case 2: return 500  // UNKNOWN
        case 3: return 400  // INVALID_ARGUMENT
        case 4: return 504  // DEADLINE_EXCEEDED
        case 5: return 404  // NOT_FOUND
        case 6: return 409  // ALREADY_EXISTS
        case 7: return 403  // PERMISSION_DENIED
        case 8: return 429  // RESOURCE_EXHAUSTED
        case 9: return 400  // FAILED_PRECONDITION
        case 10: return 409  // ABORTED
        case 11: return 400  // OUT_OF_RANGE
        case 12: return 501  // UNIMPLEMENTED
        case 13: return 500  // INTERNAL
        case 14: return 503  // UNAVAILABLE
        case 15: return 500  // DATA_LOSS
        case 16: return 401  // UNAUTHENTICATED
        default: return 500
        }
    }

    /// Envoy's panic rule for a single priority: the priority's health is
    /// `min(100, 140 × healthy / total)` (overprovisioning factor 1.4); below 100 it is in panic
    /// when the healthy percentage is under the threshold, and then the balancer uses every host.
    static func isInPanic(healthy: Int, total: Int, threshold: UInt32) -> Bool {
        guard total > 0, threshold > 0 else { return false }
        let availability = min(100, 140 * healthy / total)
        if availability == 100 { return false }
        return 100.0 * Double(healthy) / Double(total) < Double(min(threshold, 100))
    }
}

/// Why a host was ejected, with Envoy's names (`ejections_enforced_<name>`).
enum OutlierEjectionType: String, CaseIterable, Sendable {
    case consecutive5xx = "consecutive_5xx"
    case consecutiveGatewayFailure = "consecutive_gateway_failure"
    case consecutiveLocalOriginFailure = "consecutive_local_origin_failure"
}
