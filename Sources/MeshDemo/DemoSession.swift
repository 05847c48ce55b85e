import Foundation
import MeshLoad
import MeshProxy
import NIOConcurrencyHelpers
import NIOCore

/// One run of the demo against a started mesh: the steps, the rollback, the summary.
struct DemoSession: Sendable {
    let settings: DemoSettings
    let mesh: DemoMesh
    let classes: [RequestClass]
    let loadGroup: any EventLoopGroup
    let scenario: DemoRunner.Scenario
    let observe: @Sendable (DemoEvent) -> Void

    var measurement: StepMeasurement {
        StepMeasurement(
            stableSubset: settings.stableSubset, canarySubset: settings.canarySubset, split: settings.split,
            thresholds: settings.thresholds)
    }

    var betaShare: Double {
        let total = classes.reduce(0) { $0 + $1.weight }
        let beta = classes.filter { $0.name == DemoRunner.betaClass }.reduce(0) { $0 + $1.weight }
        return total > 0 ? Double(beta) / Double(total) : 0
    }

    func run() async throws -> SummaryRow {
        observe(.plan(plan()))
        let gate = RolloutGate(steps: settings.steps, thresholds: settings.thresholds)
        var rows: [StepRow] = []
        var rollback: RollbackRow?
        var index = 0
        var lastHealthy: Int?
        var completed = false
        stepping: while true {
            let weight = settings.steps[index]
            if index > 0 { try await mesh.applyRoutes(canaryWeight: weight) }
            let row = try await hold(step: index + 1, canaryWeight: weight, kind: "step")
            rows.append(row)
            observe(.step(row))
            switch gate.action(afterStep: index, breaches: row.breaches) {
            case .advance(let next):
                lastHealthy = weight
                index = next
            case .complete:
                lastHealthy = weight
                completed = true
                break stepping
            case .halt:
                break stepping
            case .rollBack:
                let window = try await rollBack(afterStep: index + 1, fromWeight: weight)
                rollback = window
                observe(.rollback(window))
                let after = try await hold(step: index + 2, canaryWeight: 0, kind: "after-rollback")
                rows.append(after)
                observe(.step(after))
                break stepping
            }
        }
        let summary = summarize(rows: rows, rollback: rollback, lastHealthy: lastHealthy, completed: completed)
        observe(.summary(summary))
        return summary
    }

    // MARK: holding a step

    func loadConfiguration(canaryWeight: Int?, duration: Duration) throws -> LoadConfiguration {
        var stepClasses = classes
        if let canaryWeight {
            let expected = try ExpectedShares(
                entries: [
                    .init(subset: settings.stableSubset, weight: Double(100 - canaryWeight)),
                    .init(subset: settings.canarySubset, weight: Double(canaryWeight)),
                ], source: "step weights")
            for i in stepClasses.indices where stepClasses[i].expected == nil { stepClasses[i].expected = expected }
        }
        // A long request timeout: on a starved machine a stall shows up as latency (and can trip
        // --max-p99) rather than as requests without a response, which would fail the demo.
        return LoadConfiguration(
            target: try TargetURL(parsing: "http://127.0.0.1:\(mesh.port)/"), pacing: .openLoop(requestsPerSecond: settings.rate),
            duration: duration, connections: settings.connections, threads: 1, requestTimeout: .seconds(30), classes: stepClasses,
            authority: settings.host, alpha: settings.alpha, reportInterval: .milliseconds(250))
    }

    /// Runs load for `duration`, calling `during` once it is under way; returns the report.
    func runLoad(_ configuration: LoadConfiguration, during: (@Sendable () async throws -> Void)? = nil) async throws -> LoadReport {
        let run = try await LoadRun.start(configuration, eventLoopGroup: loadGroup)
        let observe = self.observe
        return try await withTaskCancellationHandler {
            async let progress: Void = {
                for await interval in run.intervals { observe(.progress(interval)) }
            }()
            do {
                try await during?()
            } catch {
                run.stop()
                await progress
                _ = await run.report
                throw error
            }
            await progress
            let report = await run.report
            try Task.checkCancellation()
            return report
        } onCancel: {
            run.stop()
        }
    }

    func hold(step: Int, canaryWeight: Int, kind: String) async throws -> StepRow {
        observe(.holdStarted(step: step, canaryWeight: canaryWeight, kind: kind, duration: settings.hold))
        let configuration = try loadConfiguration(canaryWeight: canaryWeight, duration: settings.hold)
        let before = await mesh.mesh.proxy.collectStats()
        let rejectionsBefore = mesh.podRejections()
        let revision = mesh.revision
        let clock = ContinuousClock()
        let start = clock.now
        let report = try await runLoad(configuration)
        let elapsed = clock.now - start
        let traffic = await mesh.traffic(since: before)
        guard let facts = StepMeasurement.LoadFacts(report: report, regularClass: DemoRunner.regularClass, betaClass: DemoRunner.betaClass)
        else { throw DemoInputError("the load report lacks the demo's request classes") }
        return measurement.row(
            type: kind, step: step, canaryWeight: canaryWeight, revision: revision, seconds: Self.seconds(elapsed), load: facts,
            traffic: traffic, podRejections: Self.difference(mesh.podRejections(), rejectionsBefore))
    }

    // MARK: the rollback

    /// Load on the breaching routes for `rollbackLead`, then the all-stable routes applied as one
    /// snapshot swap with requests in flight, then `rollbackTail` more of load.
    func rollBack(afterStep step: Int, fromWeight weight: Int) async throws -> RollbackRow {
        let window = settings.rollbackLead + settings.rollbackTail
        observe(.holdStarted(step: step, canaryWeight: weight, kind: "rollback", duration: window))
        let configuration = try loadConfiguration(canaryWeight: nil, duration: window)
        let before = await mesh.mesh.proxy.collectStats()
        let revisionBefore = mesh.revision
        let swap = SwapRecord()
        let mesh = self.mesh
        let lead = settings.rollbackLead
        let canary = settings.canarySubset
        let clock = ContinuousClock()
        let start = clock.now
        let report = try await runLoad(configuration) {
            try await Task.sleep(for: lead)
            let inFlight = await mesh.inFlight(to: canary)
            let applyStart = clock.now
            try await mesh.applyRoutes(canaryWeight: 0)
            swap.record(inFlight: inFlight, apply: clock.now - applyStart)
        }
        let elapsed = clock.now - start
        let traffic = await mesh.traffic(since: before)
        var kinds = traffic.failures(notAnsweredBy: canary)
        for (kind, count) in StepMeasurement.noResponseKinds(report.errors) { kinds["no response: \(kind)"] = count }
        let recorded = swap.value
        return RollbackRow(
            afterStep: step, fromCanaryWeight: weight, revisionBefore: revisionBefore, revisionAfter: mesh.revision,
            applyMilliseconds: Self.seconds(recorded.apply) * 1000, canaryInFlightAtSwap: recorded.inFlight,
            windowSeconds: Self.seconds(elapsed), requests: report.requests, canaryOwnFailures: traffic.ownFailures(of: canary),
            rollbackCausedFailures: kinds.values.reduce(0, +), rollbackCausedKinds: kinds)
    }

    // MARK: plan and summary

    func plan() -> PlanRow {
        let capacity = mesh.capacity(of: settings.canarySubset)
        let beta = betaShare
        let expected = settings.steps.map { weight in
            LittlesLaw.expectedInFlight(
                rate: settings.rate, canaryWeight: weight, betaShare: beta, meanLatencySeconds: (capacity.meanLatencyMilliseconds ?? 0) / 1000)
        }
        return PlanRow(
            host: settings.host, stableSubset: settings.stableSubset, canarySubset: settings.canarySubset, rate: settings.rate,
            holdSeconds: Self.seconds(settings.hold), steps: settings.steps, betaShare: beta, thresholds: settings.thresholds,
            seed: settings.seed, splitMode: settings.split.rawValue, proxyAddress: "127.0.0.1:\(mesh.port)",
            scenarioDirectory: scenario.directory, canaryCapacity: capacity.limit,
            canaryMeanLatencyMilliseconds: capacity.meanLatencyMilliseconds, expectedCanaryInFlight: expected,
            workloads: mesh.describeWorkloads())
    }

    func summarize(rows: [StepRow], rollback: RollbackRow?, lastHealthy: Int?, completed: Bool) -> SummaryRow {
        var failed: [String] = []
        for row in rows {
            let name = row.type == "step" ? "step \(row.step) (\(row.stableWeight)/\(row.canaryWeight))" : "after the rollback"
            if !row.split.consistent {
                failed.append(
                    "\(name): regular traffic's split is not consistent with its weights (\(settings.canarySubset) "
                        + "\(row.split.canaryCount) of \(row.split.answered))")
            }
            if !row.beta.allOnCanary {
                let seen = row.beta.subsets.keys.sorted().map { "\($0)=\(row.beta.subsets[$0] ?? 0)" }.joined(separator: ",")
                failed.append("\(name): beta traffic did not all reach \(settings.canarySubset) (\(seen.isEmpty ? "no answers" : seen))")
            }
            if row.noResponse > 0 {
                let kinds = row.noResponseKinds.keys.sorted().map { "\($0) \(row.noResponseKinds[$0] ?? 0)" }.joined(separator: ", ")
                failed.append("\(name): \(row.noResponse) requests got no response (\(kinds))")
            }
        }
        if let rollback, rollback.rollbackCausedFailures > 0 {
            failed.append("the rollback caused \(rollback.rollbackCausedFailures) failed requests")
        }
        let breached = rows.first { $0.type == "step" && !$0.breaches.isEmpty }
        return SummaryRow(
            breachedAtStep: breached?.step, rolledBack: rollback != nil, lastHealthyCanaryWeight: lastHealthy, completed: completed,
            failedChecks: failed, passed: failed.isEmpty, scenarioDirectory: scenario.directory,
            reproduce: ReproductionCommands(settings: settings, scenario: scenario).steps(rows.filter { $0.type == "step" }),
            curl: ReproductionCommands(settings: settings, scenario: scenario).curl())
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func difference(_ after: [String: Int], _ before: [String: Int]) -> [String: Int] {
        after.reduce(into: [:]) { result, entry in result[entry.key] = entry.value - (before[entry.key] ?? 0) }
    }
}

/// What the swap task saw, read after the load run ends.
final class SwapRecord: Sendable {
    private let state = NIOLockedValueBox((inFlight: 0, apply: Duration.zero))
    func record(inFlight: Int, apply: Duration) { state.withLockedValue { $0 = (inFlight, apply) } }
    var value: (inFlight: Int, apply: Duration) { state.withLockedValue { $0 } }
}
