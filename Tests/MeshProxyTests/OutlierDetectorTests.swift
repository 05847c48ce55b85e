import MeshConfig
import MeshRouting
import NIOCore
import Testing

@testable import MeshProxy

/// Istio's mapping of a DestinationRule's `outlierDetection` to Envoy's settings.
@Suite struct OutlierPolicyTests {
    @Test func unsetFieldsTakeEnvoysDefaultsAsIstioLeavesThem() {
        let policy = OutlierPolicy(OutlierDetection())
        #expect(policy.consecutive5xx == 5 && policy.enforcesConsecutive5xx)
        // Istio sets no gateway threshold: Envoy detects after 5 but enforces 0%.
        #expect(policy.consecutiveGatewayFailure == 5 && !policy.enforcesConsecutiveGatewayFailure)
        #expect(!policy.splitExternalLocalOriginErrors)
        #expect(policy.interval == .seconds(10))
        #expect(policy.baseEjectionTime == .seconds(30))
        #expect(policy.maxEjectionTime == .seconds(300))
        #expect(policy.maxEjectionPercent == 10)
        // Istio always sets the panic threshold, to 0 unless minHealthPercent says otherwise.
        #expect(policy.healthyPanicThreshold == 0)
        #expect(policy.errorStatusCodes == nil)
    }

    @Test func zeroTurnsADetectionOffAndAValueEnforcesIt() {
        let policy = OutlierPolicy(OutlierDetection(consecutiveGatewayErrors: 3, consecutive5xxErrors: 0))
        #expect(policy.consecutive5xx == 0 && !policy.enforcesConsecutive5xx)
        #expect(policy.consecutiveGatewayFailure == 3 && policy.enforcesConsecutiveGatewayFailure)
        let off = OutlierPolicy(OutlierDetection(consecutiveGatewayErrors: 0))
        #expect(off.consecutiveGatewayFailure == 0 && !off.enforcesConsecutiveGatewayFailure)
    }

    @Test func durationsPercentsAndTheDeprecatedField() {
        let policy = OutlierPolicy(OutlierDetection(
            interval: IstioDuration(parsing: "100ms"), baseEjectionTime: IstioDuration(parsing: "400s"),
            maxEjectionPercent: 0, minHealthPercent: 30, consecutiveErrors: 2))
        #expect(policy.interval == .milliseconds(100))
        #expect(policy.baseEjectionTime == .seconds(400))
        // max_ejection_time: 300s or the base time, whichever is longer.
        #expect(policy.maxEjectionTime == .seconds(400))
        // 0 is "unset" for Istio: Envoy's 10%.
        #expect(policy.maxEjectionPercent == 10)
        #expect(policy.healthyPanicThreshold == 30)
        // consecutiveErrors has had no effect since Istio 1.7.
        #expect(policy.consecutive5xx == 5)
        #expect(OutlierPolicy(OutlierDetection(maxEjectionPercent: 100)).maxEjectionPercent == 100)
    }

    @Test func localOriginFailuresCountOnlyWhenSplit() {
        let split = OutlierPolicy(OutlierDetection(splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2))
        #expect(split.splitExternalLocalOriginErrors && split.consecutiveLocalOriginFailure == 2 && split.enforcesConsecutiveLocalOriginFailure)
        let splitDefault = OutlierPolicy(OutlierDetection(splitExternalLocalOriginErrors: true))
        #expect(splitDefault.consecutiveLocalOriginFailure == 5)
    }

    @Test func errorCodesDecideWhatCountsAsAFailure() {
        let policy = OutlierPolicy(OutlierDetection(outlierDetectionHttpErrorCodes: [429, 503]))
        // A listed non-5xx counts as 500, a listed 5xx as itself, anything else as a success.
        #expect(policy.reportedStatus(httpStatus: 429, grpcStatus: nil) == 500)
        #expect(policy.reportedStatus(httpStatus: 503, grpcStatus: nil) == 503)
        #expect(policy.reportedStatus(httpStatus: 500, grpcStatus: nil) == 200)
        let plain = OutlierPolicy(OutlierDetection())
        #expect(plain.reportedStatus(httpStatus: 429, grpcStatus: nil) == 429)
        // A gRPC status in the head counts as Envoy's HTTP mapping of it.
        #expect(plain.reportedStatus(httpStatus: 200, grpcStatus: 14) == 503)
        #expect(plain.reportedStatus(httpStatus: 200, grpcStatus: 4) == 504)
        #expect(plain.reportedStatus(httpStatus: 200, grpcStatus: 0) == 200)
    }

    @Test func panicNeedsFewerHealthyHostsThanTheThresholdAndTheOverprovisioningFactor() {
        #expect(OutlierPolicy.isInPanic(healthy: 1, total: 2, threshold: 60))
        #expect(!OutlierPolicy.isInPanic(healthy: 1, total: 2, threshold: 50))
        // 3 of 4 healthy is 75% < 80%, but 1.4 × 75% ≥ 100%: Envoy does not panic.
        #expect(!OutlierPolicy.isInPanic(healthy: 3, total: 4, threshold: 80))
        #expect(OutlierPolicy.isInPanic(healthy: 2, total: 3, threshold: 70))
        // Threshold 0 (Istio's default) never panics, not even with no healthy host left.
        #expect(!OutlierPolicy.isInPanic(healthy: 0, total: 2, threshold: 0))
        #expect(OutlierPolicy.isInPanic(healthy: 0, total: 2, threshold: 1))
    }
}

/// The detector's state machine, driven with synthetic time.
@Suite struct OutlierDetectorTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    static func addresses(_ count: Int) -> [EndpointAddress?] {
        (0..<count).map { EndpointAddress(host: "127.0.0.1", port: 20000 + $0) }
    }

    static func detector(hosts: Int = 2, _ settings: OutlierDetection) -> OutlierDetector {
        OutlierDetector(policy: OutlierPolicy(settings), addresses: addresses(hosts))
    }

    static func duration(_ text: String) -> IstioDuration? { IstioDuration(parsing: text) }

    /// Records `statuses` for `host`, returning the ejection types in the order they happened.
    static func respond(_ detector: OutlierDetector, host: Int = 0, _ statuses: [Int], at time: Int64 = 0) -> [OutlierEjectionType] {
        statuses.flatMap { status in
            detector.record(.response(status: status, grpcStatus: nil), host: host, now: at(time)).compactMap { transition in
                if case .ejected(let type, _) = transition.change { return type }
                return nil
            }
        }
    }

    @Test func thirdConsecutive5xxEjectsAndASuccessResetsTheCount() {
        let detector = Self.detector(OutlierDetection(consecutive5xxErrors: 3, maxEjectionPercent: 100))
        #expect(Self.respond(detector, [503, 500, 200, 503, 503]).isEmpty)
        #expect(!detector.isEjected(0))
        #expect(Self.respond(detector, [502]) == [.consecutive5xx])
        #expect(detector.isEjected(0) && detector.ejectedCount == 1)
        #expect(detector.stats.ejectionsDetectedConsecutive5xx == 1)
        #expect(detector.stats.ejectionsEnforcedConsecutive5xx == 1)
        #expect(detector.stats.ejectionsEnforcedTotal == 1)
        #expect(detector.stats.ejectionsTotal == 1)
        // More errors while ejected change nothing.
        #expect(Self.respond(detector, [503, 503, 503, 503]).isEmpty)
        #expect(detector.stats.ejectionsDetectedConsecutive5xx == 1)
    }

    @Test func gatewayErrorsCountOnly502To504InARow() {
        let detector = Self.detector(OutlierDetection(consecutiveGatewayErrors: 2, consecutive5xxErrors: 0, maxEjectionPercent: 100))
        #expect(Self.respond(detector, [500, 500, 500, 500, 500, 502, 500, 504]).isEmpty)
        #expect(Self.respond(detector, [503]) == [.consecutiveGatewayFailure])
        #expect(detector.stats.ejectionsEnforcedConsecutiveGatewayFailure == 1)
        #expect(detector.stats.ejectionsDetectedConsecutive5xx == 0)
    }

    @Test func istiosDefaultDetectsGatewayFailuresWithoutEnforcingThem() {
        let detector = Self.detector(OutlierDetection(maxEjectionPercent: 100))
        // The fifth 503 reaches both thresholds: the gateway detection is counted but not
        // enforced, then the 5xx one ejects.
        #expect(Self.respond(detector, [503, 503, 503, 503]).isEmpty)
        #expect(Self.respond(detector, [503]) == [.consecutive5xx])
        #expect(detector.stats.ejectionsDetectedConsecutiveGatewayFailure == 1)
        #expect(detector.stats.ejectionsEnforcedConsecutiveGatewayFailure == 0)
        #expect(detector.stats.ejectionsEnforcedConsecutive5xx == 1)
    }

    @Test func maxEjectionPercentBoundsTheShareAfterTheEjection() {
        let detector = Self.detector(hosts: 3, OutlierDetection(consecutive5xxErrors: 1, maxEjectionPercent: 50))
        #expect(Self.respond(detector, host: 0, [503]) == [.consecutive5xx])
        // A second ejection would leave 2 of 3 out (66% > 50%).
        #expect(Self.respond(detector, host: 1, [503]).isEmpty)
        #expect(!detector.isEjected(1))
        #expect(detector.stats.ejectionsOverflow == 1)
        #expect(detector.stats.ejectionsEnforcedTotal == 1)
    }

    @Test func defaultTenPercentEjectsNothingFromFewerThanTenHosts() {
        let detector = Self.detector(hosts: 4, OutlierDetection(consecutive5xxErrors: 2))
        #expect(Self.respond(detector, host: 3, [503, 503, 503, 503]).isEmpty)
        #expect(detector.ejectedCount == 0)
        #expect(detector.stats.ejectionsOverflow == 2)
        #expect(detector.stats.ejectionsDetectedConsecutive5xx == 2)
        let ten = Self.detector(hosts: 10, OutlierDetection(consecutive5xxErrors: 2))
        #expect(Self.respond(ten, host: 3, [503, 503]) == [.consecutive5xx])
    }

    @Test func sweepReturnsTheHostAfterBaseTimesBackoffAndTheBackoffDecays() throws {
        let detector = Self.detector(OutlierDetection(
            consecutive5xxErrors: 1, interval: Self.duration("100ms"), baseEjectionTime: Self.duration("300ms"), maxEjectionPercent: 100))
        let first = detector.record(.response(status: 503, grpcStatus: nil), host: 0, now: Self.at(0))
        #expect(first == [.init(host: 0, change: .ejected(.consecutive5xx, duration: .milliseconds(300)))])
        #expect(detector.sweep(now: Self.at(200)).isEmpty)
        #expect(detector.sweep(now: Self.at(300)) == [.init(host: 0, change: .returned(after: .milliseconds(300)))])
        #expect(!detector.isEjected(0))
        // Ejected again at once: twice the base time.
        let second = detector.record(.response(status: 503, grpcStatus: nil), host: 0, now: Self.at(400))
        #expect(second == [.init(host: 0, change: .ejected(.consecutive5xx, duration: .milliseconds(600)))])
        #expect(detector.sweep(now: Self.at(900)).isEmpty)
        #expect(detector.sweep(now: Self.at(1000)).count == 1)
        // Two intervals in service bring the backoff from 2 back to 0 …
        _ = detector.sweep(now: Self.at(1100))
        _ = detector.sweep(now: Self.at(1200))
        #expect(detector.hosts[0].backoff == 0)
        // … so the next ejection lasts the base time again.
        let third = detector.record(.response(status: 503, grpcStatus: nil), host: 0, now: Self.at(1300))
        #expect(third == [.init(host: 0, change: .ejected(.consecutive5xx, duration: .milliseconds(300)))])
        #expect(detector.hosts[0].ejections == 3)
    }

    @Test func ejectionTimeStopsGrowingAtMaxEjectionTime() {
        let detector = Self.detector(OutlierDetection(consecutive5xxErrors: 1, baseEjectionTime: Self.duration("200s"), maxEjectionPercent: 100))
        var durations: [TimeAmount] = []
        var now: Int64 = 0
        for _ in 0..<4 {
            for transition in detector.record(.response(status: 503, grpcStatus: nil), host: 0, now: Self.at(now)) {
                if case .ejected(_, let duration) = transition.change { durations.append(duration) }
            }
            now += 400_000
            #expect(detector.sweep(now: Self.at(now)).count == 1)
        }
        #expect(durations == [.seconds(200), .seconds(300), .seconds(300), .seconds(300)])
    }

    @Test func localOriginFailuresCountAs503And504UnlessSplit() {
        let merged = Self.detector(OutlierDetection(consecutiveGatewayErrors: 2, consecutive5xxErrors: 0, maxEjectionPercent: 100))
        #expect(merged.record(.connectFailed, host: 0, now: Self.at(0)).isEmpty)
        #expect(merged.record(.timedOut, host: 0, now: Self.at(0)).count == 1)
        #expect(merged.stats.ejectionsEnforcedConsecutiveGatewayFailure == 1)

        let split = Self.detector(OutlierDetection(
            splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, consecutive5xxErrors: 2, maxEjectionPercent: 100))
        // A connection that works resets the local-origin count; responses do not touch it.
        #expect(split.record(.connectFailed, host: 0, now: Self.at(0)).isEmpty)
        #expect(split.record(.connected, host: 0, now: Self.at(0)).isEmpty)
        #expect(split.record(.connectFailed, host: 0, now: Self.at(0)).isEmpty)
        #expect(Self.respond(split, [200, 503]).isEmpty)
        #expect(split.record(.timedOut, host: 0, now: Self.at(0)).count == 1)
        #expect(split.stats.ejectionsEnforcedConsecutiveLocalOriginFailure == 1)
        #expect(split.stats.ejectionsEnforcedConsecutive5xx == 0)
    }

    @Test func hostsThatStayKeepTheirStateAcrossEndpointUpdates() {
        let detector = Self.detector(hosts: 3, OutlierDetection(consecutive5xxErrors: 1, maxEjectionPercent: 100))
        _ = Self.respond(detector, host: 1, [503])
        let addresses = Self.addresses(3)
        detector.reassign(addresses: [addresses[1], nil, addresses[2]])
        #expect(detector.isEjected(0) && !detector.isEjected(1) && !detector.isEjected(2))
        #expect(detector.ejectedCount == 1 && detector.hostCount == 2)
        // Endpoints without an address are not hosts: nothing is recorded for them.
        #expect(detector.record(.response(status: 503, grpcStatus: nil), host: 1, now: Self.at(0)).isEmpty)
    }
}
