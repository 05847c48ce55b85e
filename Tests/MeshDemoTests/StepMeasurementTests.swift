import Foundation
import MeshDemo
import MeshLoad
import MeshProxy
import Testing

@Suite struct StepMeasurementTests {
    static let v2Cluster = "outbound|9080|v2|reviews.default.svc.cluster.local"
    static let v1Cluster = "outbound|9080|v1|reviews.default.svc.cluster.local"

    static func stats(_ counts: [(String?, Int, ResponseFlags, UInt64)]) -> StatsSnapshot {
        var snapshot = StatsSnapshot()
        for (cluster, status, flags, count) in counts {
            var entry = StatsSnapshot.RequestStats()
            entry.count = count
            snapshot.requests[StatsSnapshot.RequestKey(cluster: cluster, responseCode: status, responseFlags: flags)] = entry
        }
        return snapshot
    }

    static func subset(_ cluster: String) -> String? {
        [v1Cluster: "v1", v2Cluster: "v2"][cluster]
    }

    @Test func trafficIsTheDifferenceOfTwoSnapshotsBySubset() {
        let before = Self.stats([(Self.v1Cluster, 200, [], 100), (Self.v2Cluster, 200, [], 10)])
        let after = Self.stats([
            (Self.v1Cluster, 200, [], 160), (Self.v2Cluster, 200, [], 40), (Self.v2Cluster, 503, [], 3),
            (Self.v2Cluster, 503, .upstreamRetryLimitExceeded, 4), (nil, 404, .noRouteFound, 1),
        ])
        let traffic = ProxyTraffic(before: before, after: after, subsetOfCluster: Self.subset)
        #expect(traffic.answers(of: "v1") == 60)
        #expect(traffic.answers(of: "v2") == 37)
        #expect(traffic.serverErrors(of: "v2") == 7)
        #expect(traffic.total == 98)
    }

    /// The canary's own 503s (after retries or not) are its failures; what the proxy made itself
    /// (no healthy upstream, connect failure, reset, overflow) or another subset's are not.
    @Test func ownFailuresAreTheCanaryPodsAnswers() {
        let traffic = ProxyTraffic(counts: [
            .init(subset: "v2", status: 503, flags: []): 5,
            .init(subset: "v2", status: 503, flags: .upstreamRetryLimitExceeded): 2,
            .init(subset: "v2", status: 503, flags: .noHealthyUpstream): 1,
            .init(subset: "v2", status: 503, flags: [.upstreamConnectionFailure, .upstreamRetryLimitExceeded]): 1,
            .init(subset: "v1", status: 503, flags: []): 3,
            .init(subset: nil, status: 404, flags: .noRouteFound): 4,
            .init(subset: "v1", status: 200, flags: []): 50,
        ])
        #expect(traffic.ownFailures(of: "v2") == 7)
        let others = traffic.failures(notAnsweredBy: "v2")
        #expect(others.values.reduce(0, +) == 9)
        #expect(others["503 UH (v2)"] == 1)
        #expect(others["503 UF,URX (v2)"] == 1)
        #expect(others["503 - (v1)"] == 3)
        #expect(others["404 NR (no cluster)"] == 4)
    }

    static func check(_ observed: [String: Int], canaryWeight: Int, withoutDestination: Int = 0) throws -> SplitCheck {
        let expected = try ExpectedShares(
            entries: [.init(subset: "v1", weight: Double(100 - canaryWeight)), .init(subset: "v2", weight: Double(canaryWeight))],
            source: "test")
        return SplitCheck.evaluate(
            requestClass: "regular", observed: observed, withoutDestination: withoutDestination, expected: expected, alpha: 0.001,
            exact: false)
    }

    static func measurement(_ split: DemoSettings.SplitMode) -> StepMeasurement {
        StepMeasurement(stableSubset: "v1", canarySubset: "v2", split: split, thresholds: CanaryThresholds())
    }

    @Test func randomSplitIsJudgedByItsChiSquare() throws {
        let measurement = Self.measurement(.random)
        let near = measurement.observeSplit(try Self.check(["v1": 760, "v2": 240], canaryWeight: 25), canaryWeight: 25)
        #expect(near.consistent && near.configuredWithinInterval)
        #expect(near.canaryCount == 240 && near.answered == 1000 && abs(near.canaryShare - 0.24) < 1e-12)
        #expect(near.interval.contains(0.24) && near.interval.low > 0.2 && near.interval.high < 0.28)
        #expect(near.exactCountHolds == nil)
        let far = measurement.observeSplit(try Self.check(["v1": 600, "v2": 400], canaryWeight: 25), canaryWeight: 25)
        #expect(!far.consistent && !far.configuredWithinInterval)
        // Weight 0: a single answer from v2 is a routing error.
        let leak = measurement.observeSplit(try Self.check(["v1": 999, "v2": 1], canaryWeight: 0), canaryWeight: 0)
        #expect(!leak.consistent)
        let none = measurement.observeSplit(try Self.check(["v1": 1000], canaryWeight: 0), canaryWeight: 0)
        #expect(none.consistent && none.canaryCount == 0 && none.interval.low == 0)
    }

    @Test func exactSplitMustBeWithinOneOfTheWeight() throws {
        let measurement = Self.measurement(.exact)
        for (count, holds) in [(250, true), (251, true), (249, true), (252, false), (240, false)] {
            let split = measurement.observeSplit(try Self.check(["v1": 1000 - count, "v2": count], canaryWeight: 25), canaryWeight: 25)
            #expect(split.exactCountHolds == holds, "\(count)")
            #expect(split.consistent == holds)
        }
        // One destination left: no slack.
        #expect(measurement.observeSplit(try Self.check(["v1": 1000], canaryWeight: 0), canaryWeight: 0).exactCountHolds == true)
        #expect(measurement.observeSplit(try Self.check(["v1": 999, "v2": 1], canaryWeight: 0), canaryWeight: 0).exactCountHolds == false)
        #expect(measurement.observeSplit(try Self.check(["v1": 1, "v2": 999], canaryWeight: 100), canaryWeight: 100).exactCountHolds == false)
    }

    @Test func betaIsAllOnTheCanaryOrNot() throws {
        let measurement = Self.measurement(.random)
        let beta = try ExpectedShares(entries: [.init(subset: "v2", weight: 100)], source: "mix")
        func observe(_ observed: [String: Int]) -> BetaObservation {
            measurement.observeBeta(
                SplitCheck.evaluate(requestClass: "beta", observed: observed, withoutDestination: 0, expected: beta, alpha: 0.001, exact: false))
        }
        #expect(observe(["v2": 30]).allOnCanary)
        #expect(!observe(["v2": 29, "v1": 1]).allOnCanary)
        #expect(!observe([:]).allOnCanary, "no answers shows nothing")
        #expect(observe(["v2": 29, "v1": 1]).subsets == ["v2": 29, "v1": 1])
    }

    @Test func rowCarriesBreachesOfTheCanary() throws {
        let measurement = StepMeasurement(
            stableSubset: "v1", canarySubset: "v2", split: .random, thresholds: CanaryThresholds(maxErrorRate: 0.01, maxP99Milliseconds: 1000))
        let betaExpected = try ExpectedShares(entries: [.init(subset: "v2", weight: 100)], source: "mix")
        let facts = StepMeasurement.LoadFacts(
            requests: 1100, noResponse: 0, regular: try Self.check(["v1": 500, "v2": 500], canaryWeight: 50),
            beta: SplitCheck.evaluate(requestClass: "beta", observed: ["v2": 100], withoutDestination: 0, expected: betaExpected, alpha: 0.001, exact: false),
            p99BySubset: ["v1": 300, "v2": 400])
        let traffic = ProxyTraffic(counts: [
            .init(subset: "v1", status: 200, flags: []): 500,
            .init(subset: "v2", status: 200, flags: []): 540,
            .init(subset: "v2", status: 503, flags: .upstreamRetryLimitExceeded): 60,
        ])
        let row = measurement.row(
            step: 4, canaryWeight: 50, revision: 3, seconds: 4, load: facts, traffic: traffic, podRejections: ["v2": 250])
        #expect(row.stableWeight == 50 && row.canaryWeight == 50)
        #expect(row.canary.answers == 600 && row.canary.errors == 60 && abs(row.canary.errorRate - 0.1) < 1e-12)
        #expect(row.canary.podRejections == 250 && row.canary.p99Milliseconds == 400)
        #expect(row.stable.errors == 0 && row.stable.p99Milliseconds == 300)
        #expect(row.breaches.count == 1 && row.breaches[0].contains("error rate 10.0%"))
        #expect(row.beta.allOnCanary && row.split.consistent)
    }

    /// A load report as `meshsim load --output json` would give it, with the demo's two classes
    /// (regular 50/50, beta all on v2) and the given backlog (nil: closed loop, which has none).
    static func report(requests: Int, backlog: Int?) throws -> LoadReport {
        let encoder = JSONEncoder()
        func json(_ value: some Encodable) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        let errors = try json(ErrorCounts())
        let betaExpected = try ExpectedShares(entries: [.init(subset: "v2", weight: 100)], source: "mix")
        let regular = try json(try Self.check(["v1": 400, "v2": 400], canaryWeight: 50))
        let beta = try json(
            SplitCheck.evaluate(requestClass: "beta", observed: ["v2": 80], withoutDestination: 0, expected: betaExpected, alpha: 0.001, exact: false))
        let text = """
            {"target": "http://127.0.0.1:15001/", "mode": "\(backlog == nil ? "closed-loop" : "open-loop")", "connections": 10,
             "threads": 1, "warmupSeconds": 0, "durationSeconds": 4, "requests": \(requests), "completed": \(requests),
             "requestsPerSecond": 200, \(backlog.map { "\"backlog\": \($0)," } ?? "") "errors": \(errors), "byStatus": [],
             "bySubset": [], "subsetHeader": "x-meshsim-destination",
             "classes": [{"name": "\(DemoRunner.regularClass)", "weight": 90, "requests": 800, "completed": 800, "errors": \(errors), "split": \(regular)},
                         {"name": "\(DemoRunner.betaClass)", "weight": 10, "requests": 80, "completed": 80, "errors": \(errors), "split": \(beta)}]}
            """
        return try JSONDecoder().decode(LoadReport.self, from: Data(text.utf8))
    }

    /// The open-loop generator's backlog (sends due in the hold that never went out) reaches the
    /// step's row, and the table notes a step whose load fell behind by more than 2% of what was
    /// due (and more than 5 requests); a few late sends, or none, get no note.
    @Test func rowCarriesTheBacklogAndTheTableNotesALoadThatFellBehind() throws {
        func row(requests: Int, backlog: Int?) throws -> StepRow {
            let facts = try #require(
                StepMeasurement.LoadFacts(
                    report: try Self.report(requests: requests, backlog: backlog), regularClass: DemoRunner.regularClass,
                    betaClass: DemoRunner.betaClass))
            return Self.measurement(.random).row(
                step: 3, canaryWeight: 50, revision: 2, seconds: 4, load: facts, traffic: ProxyTraffic(counts: [:]), podRejections: [:])
        }
        func note(_ row: StepRow) -> String? {
            var renderer = DemoTextRenderer(terminal: false)
            let text = renderer.render(.step(row)) ?? ""
            return text.split(separator: "\n").map(String.init).first { $0.contains("fell behind") }
        }
        let behind = try row(requests: 880, backlog: 120)
        #expect(behind.backlog == 120 && behind.requests == 880)
        #expect(note(behind)?.contains("the load generator fell behind: 120 of 1000 requests not sent") == true, "\(String(describing: note(behind)))")
        #expect(note(try row(requests: 979, backlog: 21)) != nil, "just over 2% of 1000 due")
        #expect(note(try row(requests: 980, backlog: 20)) == nil, "2% of 1000 due")
        #expect(note(try row(requests: 100, backlog: 5)) == nil, "5 requests at most are never worth a note")
        #expect(note(try row(requests: 1000, backlog: 0)) == nil)
        let closedLoop = try row(requests: 1000, backlog: nil)
        #expect(closedLoop.backlog == 0 && note(closedLoop) == nil)
    }
}
