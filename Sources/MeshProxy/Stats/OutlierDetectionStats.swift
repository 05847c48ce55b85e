extension StatsSnapshot {
    /// Envoy's `cluster.<name>.outlier_detection.*` counters of one cluster, summed over the event
    /// loops. The cluster's detector is shared (see `OutlierDetector`) and each decision is counted
    /// by the one loop whose request made it, so the sums are Envoy's numbers.
    public struct OutlierDetectionStats: Sendable, Hashable {
        public var ejectionsEnforcedTotal: UInt64 = 0
        /// Ejections refused by `maxEjectionPercent`.
        public var ejectionsOverflow: UInt64 = 0
        public var ejectionsDetectedConsecutive5xx: UInt64 = 0
        public var ejectionsEnforcedConsecutive5xx: UInt64 = 0
        public var ejectionsDetectedConsecutiveGatewayFailure: UInt64 = 0
        public var ejectionsEnforcedConsecutiveGatewayFailure: UInt64 = 0
        public var ejectionsDetectedConsecutiveLocalOriginFailure: UInt64 = 0
        public var ejectionsEnforcedConsecutiveLocalOriginFailure: UInt64 = 0
        /// Envoy's deprecated `ejections_total` (consecutive-5xx ejections allowed by the percent
        /// bound, enforced or not) and `ejections_consecutive_5xx` (consecutive-5xx detections).
        public var ejectionsTotal: UInt64 = 0
        public var ejectionsConsecutive5xx: UInt64 = 0
        /// Picks made while too few hosts were healthy, over all hosts (`lb_healthy_panic`).
        public var healthyPanic: UInt64 = 0

        public init() {}

        mutating func add(_ other: OutlierDetectionStats) {
            ejectionsEnforcedTotal += other.ejectionsEnforcedTotal
            ejectionsOverflow += other.ejectionsOverflow
            ejectionsDetectedConsecutive5xx += other.ejectionsDetectedConsecutive5xx
            ejectionsEnforcedConsecutive5xx += other.ejectionsEnforcedConsecutive5xx
            ejectionsDetectedConsecutiveGatewayFailure += other.ejectionsDetectedConsecutiveGatewayFailure
            ejectionsEnforcedConsecutiveGatewayFailure += other.ejectionsEnforcedConsecutiveGatewayFailure
            ejectionsDetectedConsecutiveLocalOriginFailure += other.ejectionsDetectedConsecutiveLocalOriginFailure
            ejectionsEnforcedConsecutiveLocalOriginFailure += other.ejectionsEnforcedConsecutiveLocalOriginFailure
            ejectionsTotal += other.ejectionsTotal
            ejectionsConsecutive5xx += other.ejectionsConsecutive5xx
            healthyPanic += other.healthyPanic
        }

        mutating func noteDetected(_ type: OutlierEjectionType) {
            switch type {
            case .consecutive5xx: ejectionsDetectedConsecutive5xx += 1
            case .consecutiveGatewayFailure: ejectionsDetectedConsecutiveGatewayFailure += 1
            case .consecutiveLocalOriginFailure: ejectionsDetectedConsecutiveLocalOriginFailure += 1
            }
        }

        mutating func noteEnforced(_ type: OutlierEjectionType) {
            ejectionsEnforcedTotal += 1
            switch type {
            case .consecutive5xx: ejectionsEnforcedConsecutive5xx += 1
            case .consecutiveGatewayFailure: ejectionsEnforcedConsecutiveGatewayFailure += 1
            case .consecutiveLocalOriginFailure: ejectionsEnforcedConsecutiveLocalOriginFailure += 1
            }
        }

        /// Envoy's counter names after `outlier_detection.`, with their values, sorted by name.
        var envoyCounters: [(name: String, value: UInt64)] {
            [
                ("ejections_consecutive_5xx", ejectionsConsecutive5xx),
                ("ejections_detected_consecutive_5xx", ejectionsDetectedConsecutive5xx),
                ("ejections_detected_consecutive_gateway_failure", ejectionsDetectedConsecutiveGatewayFailure),
                ("ejections_detected_consecutive_local_origin_failure", ejectionsDetectedConsecutiveLocalOriginFailure),
                ("ejections_enforced_consecutive_5xx", ejectionsEnforcedConsecutive5xx),
                ("ejections_enforced_consecutive_gateway_failure", ejectionsEnforcedConsecutiveGatewayFailure),
                ("ejections_enforced_consecutive_local_origin_failure", ejectionsEnforcedConsecutiveLocalOriginFailure),
                ("ejections_enforced_total", ejectionsEnforcedTotal),
                ("ejections_overflow", ejectionsOverflow),
                ("ejections_total", ejectionsTotal),
            ]
        }
    }
}

extension StatsSnapshot.ClusterStats {
    /// Envoy's `outlier_detection.ejections_active`: endpoints ejected now.
    public var outlierEjectionsActive: Int {
        endpoints.values.reduce(0) { $0 + ($1.outlierEjectedWorkers > 0 ? 1 : 0) }
    }
}
