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

/// The detector's state machine, driven with synthetic time. A `WorkerView` plays one worker:
/// the detector is shared, the decision counters are the worker's own.
@Suite struct OutlierDetectorTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    static func addresses(_ count: Int) -> [EndpointAddress] {
        (0..<count).map { EndpointAddress(host: "127.0.0.1", port: 20000 + $0) }
    }

    static func detector(hosts: Int = 2, _ settings: OutlierDetection) -> WorkerView {
        let detector = OutlierDetector(policy: OutlierPolicy(settings))
        return WorkerView(detector, monitors: detector.adopt(addresses: addresses(hosts)))
    }

    static func duration(_ text: String) -> IstioDuration? { IstioDuration(parsing: text) }

    /// One worker's side of a shared detector: the hosts' monitors in endpoint order, and the
    /// counters of the decisions its results triggered.
    final class WorkerView {
        let detector: OutlierDetector
        let monitors: [OutlierHostMonitor?]
        var stats = StatsSnapshot.OutlierDetectionStats()

        init(_ detector: OutlierDetector, monitors: [OutlierHostMonitor?]) {
            self.detector = detector
            self.monitors = monitors
        }

        /// Another worker of the same proxy: same detector and monitors, its own counters.
        func otherWorker() -> WorkerView { WorkerView(detector, monitors: monitors) }

        /// Records `outcome` for endpoint `host`; nothing for an endpoint without an address.
        func record(_ outcome: OutlierDetector.Outcome, host: Int, at time: Int64) -> [OutlierDetector.Transition] {
            guard let monitor = monitors[host] else { return [] }
            return detector.record(outcome, host: monitor, now: OutlierDetectorTests.at(time), stats: &stats)
        }

        /// Records `statuses` for `host`, returning the ejection types in the order they happened.
        func respond(host: Int = 0, _ statuses: [Int], at time: Int64 = 0) -> [OutlierEjectionType] {
            statuses.flatMap { status in
                record(.response(status: status, grpcStatus: nil), host: host, at: time).compactMap { transition in
                    if case .ejected(let type, _) = transition.change { return type }
                    return nil
                }
            }
        }

        func isEjected(_ host: Int) -> Bool { monitors[host]?.isEjected ?? false }

        func backoff(_ host: Int) -> Int64? { monitors[host].flatMap { detector.hostRecord(for: $0.address)?.backoff } }
    }

    @Test func thirdConsecutive5xxEjectsAndASuccessResetsTheCount() {
        let worker = Self.detector(OutlierDetection(consecutive5xxErrors: 3, maxEjectionPercent: 100))
        #expect(worker.respond([503, 500, 200, 503, 503]).isEmpty)
        #expect(!worker.isEjected(0))
        #expect(worker.respond([502]) == [.consecutive5xx])
        #expect(worker.isEjected(0) && worker.detector.ejectedCount == 1)
        #expect(worker.stats.ejectionsDetectedConsecutive5xx == 1)
        #expect(worker.stats.ejectionsEnforcedConsecutive5xx == 1)
        #expect(worker.stats.ejectionsEnforcedTotal == 1)
        #expect(worker.stats.ejectionsTotal == 1)
        // More errors while ejected change nothing.
        #expect(worker.respond([503, 503, 503, 503]).isEmpty)
        #expect(worker.stats.ejectionsDetectedConsecutive5xx == 1)
    }

    @Test func errorsOfTwoWorkersAddUpAndASuccessOnEitherResets() {
        let first = Self.detector(OutlierDetection(consecutive5xxErrors: 5, maxEjectionPercent: 100))
        let second = first.otherWorker()
        // Four errors spread over both workers, then a success on the second starts again.
        #expect(first.respond([503, 503]).isEmpty && second.respond([503, 503]).isEmpty)
        #expect(second.respond([200]).isEmpty)
        // Three more on the first and one on the second: no one has five yet.
        #expect(first.respond([503, 503, 503]).isEmpty && second.respond([503]).isEmpty)
        #expect(!first.isEjected(0))
        // A success on the first resets what the second counted too.
        #expect(first.respond([200]).isEmpty)
        #expect(first.respond([503, 503, 503]).isEmpty)
        #expect(second.respond([503]).isEmpty)
        // 3 on the first + 2 on the second: the fifth in a row ejects, once, for both.
        #expect(second.respond([503]) == [.consecutive5xx])
        #expect(first.isEjected(0) && second.isEjected(0) && first.detector.ejectedCount == 1)
        // The decision is counted by the worker that made it; the admin server sums them.
        #expect(second.stats.ejectionsEnforcedConsecutive5xx == 1 && first.stats.ejectionsEnforcedTotal == 0)
        #expect(first.respond([503, 503, 503, 503, 503]).isEmpty && second.respond([503, 503, 503, 503, 503]).isEmpty)
        #expect(first.stats.ejectionsDetectedConsecutive5xx + second.stats.ejectionsDetectedConsecutive5xx == 1)
    }

    @Test func anEjectionMovesTheEpochTheBalancersWatch() {
        let worker = Self.detector(OutlierDetection(consecutive5xxErrors: 1, interval: Self.duration("100ms"), maxEjectionPercent: 100))
        let before = worker.detector.epoch
        #expect(worker.respond([200, 503, 503]) == [.consecutive5xx])
        let ejected = worker.detector.epoch
        #expect(ejected != before)
        #expect(worker.detector.sweep(now: Self.at(100)).isEmpty && worker.detector.epoch == ejected)
        #expect(worker.detector.sweep(now: Self.at(30_000)).count == 1 && worker.detector.epoch != ejected)
    }

    @Test func gatewayErrorsCountOnly502To504InARow() {
        let worker = Self.detector(OutlierDetection(consecutiveGatewayErrors: 2, consecutive5xxErrors: 0, maxEjectionPercent: 100))
        #expect(worker.respond([500, 500, 500, 500, 500, 502, 500, 504]).isEmpty)
        #expect(worker.respond([503]) == [.consecutiveGatewayFailure])
        #expect(worker.stats.ejectionsEnforcedConsecutiveGatewayFailure == 1)
        #expect(worker.stats.ejectionsDetectedConsecutive5xx == 0)
    }

    @Test func istiosDefaultDetectsGatewayFailuresWithoutEnforcingThem() {
        let worker = Self.detector(OutlierDetection(maxEjectionPercent: 100))
        // The fifth 503 reaches both thresholds: the gateway detection is counted but not
        // enforced, then the 5xx one ejects.
        #expect(worker.respond([503, 503, 503, 503]).isEmpty)
        #expect(worker.respond([503]) == [.consecutive5xx])
        #expect(worker.stats.ejectionsDetectedConsecutiveGatewayFailure == 1)
        #expect(worker.stats.ejectionsEnforcedConsecutiveGatewayFailure == 0)
        #expect(worker.stats.ejectionsEnforcedConsecutive5xx == 1)
    }

    @Test func maxEjectionPercentBoundsTheShareAfterTheEjection() {
        let worker = Self.detector(hosts: 3, OutlierDetection(consecutive5xxErrors: 1, maxEjectionPercent: 50))
        #expect(worker.respond(host: 0, [503]) == [.consecutive5xx])
        // A second ejection would leave 2 of 3 out (66% > 50%).
        #expect(worker.respond(host: 1, [503]).isEmpty)
        #expect(!worker.isEjected(1))
        #expect(worker.stats.ejectionsOverflow == 1)
        #expect(worker.stats.ejectionsEnforcedTotal == 1)
    }

    @Test func maxEjectionPercentCountsTheEjectionsOfEveryWorker() {
        let first = Self.detector(hosts: 4, OutlierDetection(consecutive5xxErrors: 2, maxEjectionPercent: 50))
        let second = first.otherWorker()
        // Host 0 out by the first worker's errors, host 1 by errors split over both: 2 of 4 is 50%.
        #expect(first.respond(host: 0, [503, 503]) == [.consecutive5xx])
        #expect(first.respond(host: 1, [503]).isEmpty && second.respond(host: 1, [503]) == [.consecutive5xx])
        // A third, whichever worker reaches the threshold, would make 75%.
        #expect(second.respond(host: 2, [503, 503]).isEmpty)
        #expect(first.respond(host: 3, [503]).isEmpty && second.respond(host: 3, [503]).isEmpty)
        #expect(!first.isEjected(2) && !first.isEjected(3) && first.detector.ejectedCount == 2)
        #expect(first.stats.ejectionsOverflow + second.stats.ejectionsOverflow == 2)
        #expect(first.stats.ejectionsEnforcedTotal + second.stats.ejectionsEnforcedTotal == 2)
    }

    @Test func defaultTenPercentEjectsNothingFromFewerThanTenHosts() {
        let worker = Self.detector(hosts: 4, OutlierDetection(consecutive5xxErrors: 2))
        #expect(worker.respond(host: 3, [503, 503, 503, 503]).isEmpty)
        #expect(worker.detector.ejectedCount == 0)
        #expect(worker.stats.ejectionsOverflow == 2)
        #expect(worker.stats.ejectionsDetectedConsecutive5xx == 2)
        let ten = Self.detector(hosts: 10, OutlierDetection(consecutive5xxErrors: 2))
        #expect(ten.respond(host: 3, [503, 503]) == [.consecutive5xx])
    }

    @Test func sweepReturnsTheHostAfterBaseTimesBackoffAndTheBackoffDecays() throws {
        let worker = Self.detector(OutlierDetection(
            consecutive5xxErrors: 1, interval: Self.duration("100ms"), baseEjectionTime: Self.duration("300ms"), maxEjectionPercent: 100))
        let host = Self.addresses(1)[0]
        let first = worker.record(.response(status: 503, grpcStatus: nil), host: 0, at: 0)
        #expect(first == [.init(host: host, change: .ejected(.consecutive5xx, duration: .milliseconds(300)), ejections: 1)])
        #expect(worker.detector.sweep(now: Self.at(200)).isEmpty)
        #expect(worker.detector.sweep(now: Self.at(300)) == [.init(host: host, change: .returned(after: .milliseconds(300)), ejections: 1)])
        #expect(!worker.isEjected(0))
        // Ejected again at once: twice the base time.
        let second = worker.record(.response(status: 503, grpcStatus: nil), host: 0, at: 400)
        #expect(second == [.init(host: host, change: .ejected(.consecutive5xx, duration: .milliseconds(600)), ejections: 2)])
        #expect(worker.detector.sweep(now: Self.at(900)).isEmpty)
        #expect(worker.detector.sweep(now: Self.at(1000)).count == 1)
        // Two intervals in service bring the backoff from 2 back to 0 …
        _ = worker.detector.sweep(now: Self.at(1100))
        _ = worker.detector.sweep(now: Self.at(1200))
        #expect(worker.backoff(0) == 0)
        // … so the next ejection lasts the base time again.
        let third = worker.record(.response(status: 503, grpcStatus: nil), host: 0, at: 1300)
        #expect(third == [.init(host: host, change: .ejected(.consecutive5xx, duration: .milliseconds(300)), ejections: 3)])
    }

    @Test func theSweepReturnsAHostOnceWhicheverWorkerRunsIt() {
        let first = Self.detector(OutlierDetection(consecutive5xxErrors: 2, baseEjectionTime: Self.duration("300ms"), maxEjectionPercent: 100))
        let second = first.otherWorker()
        #expect(first.respond([503]).isEmpty && second.respond([503]) == [.consecutive5xx])
        #expect(second.detector.sweep(now: Self.at(300)).count == 1)
        #expect(first.detector.sweep(now: Self.at(300)).isEmpty)
        #expect(!first.isEjected(0) && first.detector.ejectedCount == 0)
        // Returning cleared the count: one error on each worker is needed again.
        #expect(first.respond([503], at: 400).isEmpty && second.respond([503], at: 400) == [.consecutive5xx])
    }

    @Test func ejectionTimeStopsGrowingAtMaxEjectionTime() {
        let worker = Self.detector(OutlierDetection(consecutive5xxErrors: 1, baseEjectionTime: Self.duration("200s"), maxEjectionPercent: 100))
        var durations: [TimeAmount] = []
        var now: Int64 = 0
        for _ in 0..<4 {
            for transition in worker.record(.response(status: 503, grpcStatus: nil), host: 0, at: now) {
                if case .ejected(_, let duration) = transition.change { durations.append(duration) }
            }
            now += 400_000
            #expect(worker.detector.sweep(now: Self.at(now)).count == 1)
        }
        #expect(durations == [.seconds(200), .seconds(300), .seconds(300), .seconds(300)])
    }

    @Test func localOriginFailuresCountAs503And504UnlessSplit() {
        let merged = Self.detector(OutlierDetection(consecutiveGatewayErrors: 2, consecutive5xxErrors: 0, maxEjectionPercent: 100))
        #expect(merged.record(.connectFailed, host: 0, at: 0).isEmpty)
        #expect(merged.record(.timedOut, host: 0, at: 0).count == 1)
        #expect(merged.stats.ejectionsEnforcedConsecutiveGatewayFailure == 1)

        let split = Self.detector(OutlierDetection(
            splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, consecutive5xxErrors: 2, maxEjectionPercent: 100))
        // A connection that works resets the local-origin count; responses do not touch it.
        #expect(split.record(.connectFailed, host: 0, at: 0).isEmpty)
        #expect(split.record(.connected, host: 0, at: 0).isEmpty)
        #expect(split.record(.connectFailed, host: 0, at: 0).isEmpty)
        #expect(split.respond([200, 503]).isEmpty)
        #expect(split.record(.timedOut, host: 0, at: 0).count == 1)
        #expect(split.stats.ejectionsEnforcedConsecutiveLocalOriginFailure == 1)
        #expect(split.stats.ejectionsEnforcedConsecutive5xx == 0)
    }

    @Test func hostsThatStayKeepTheirStateAcrossEndpointUpdates() {
        let worker = Self.detector(hosts: 3, OutlierDetection(consecutive5xxErrors: 1, maxEjectionPercent: 100))
        _ = worker.respond(host: 1, [503])
        let addresses = Self.addresses(3)
        let monitors = worker.detector.adopt(addresses: [addresses[1], nil, addresses[2]])
        let updated = WorkerView(worker.detector, monitors: monitors)
        #expect(monitors[0] === worker.monitors[1] && monitors[2] === worker.monitors[2])
        #expect(updated.isEjected(0) && !updated.isEjected(1) && !updated.isEjected(2))
        #expect(worker.detector.ejectedCount == 1 && worker.detector.hostCount == 2)
        // Endpoints without an address are not hosts: nothing is recorded for them.
        #expect(updated.record(.response(status: 503, grpcStatus: nil), host: 1, at: 0).isEmpty)
        // A host that left the cluster decides nothing, even for a worker still on the old list.
        _ = worker.detector.adopt(addresses: [addresses[1]])
        #expect(updated.record(.response(status: 503, grpcStatus: nil), host: 2, at: 0).isEmpty && !updated.isEjected(2))
    }

    @Test func newSettingsRetireTheDetectorAndReturnItsHostsOnce() {
        let worker = Self.detector(OutlierDetection(consecutive5xxErrors: 1, maxEjectionPercent: 100))
        #expect(worker.respond([503]) == [.consecutive5xx])
        let returned = worker.detector.retire(now: Self.at(500))
        #expect(returned == [.init(host: Self.addresses(1)[0], change: .returned(after: .milliseconds(500)), ejections: 1)])
        #expect(worker.detector.retire(now: Self.at(600)).isEmpty)
        // A retired detector decides nothing more; its successor starts afresh.
        #expect(!worker.isEjected(0) && worker.respond(host: 1, [503]).isEmpty && !worker.isEjected(1))
    }
}
