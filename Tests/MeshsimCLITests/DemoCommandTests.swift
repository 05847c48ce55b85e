import Foundation
import MeshTestSupport
import Testing

/// `meshsim demo --fast` as a process: the rows it prints against the weights it applied, the
/// rollback at the step its thresholds imply, and a rollback that fails no request. Each run is
/// killed if it outlives 60 seconds. Serialized: two demos at once would share two cores.
@Suite(.serialized) struct DemoCommandTests {
    // The fields of `--output json` the checks read.
    struct Interval: Decodable { var low: Double; var high: Double }
    struct Split: Decodable {
        var answered: Int
        var withoutDestination: Int
        var canaryCount: Int
        var canaryShare: Double
        var interval: Interval
        var configuredShare: Double
        var consistent: Bool
        var exactCountHolds: Bool?
    }
    struct Beta: Decodable { var answered: Int; var subsets: [String: Int]; var allOnCanary: Bool }
    struct Subset: Decodable { var subset: String; var answers: Int; var errors: Int; var errorRate: Double; var p99Milliseconds: Double? }
    struct Thresholds: Decodable { var maxErrorRate: Double; var maxP99Milliseconds: Double }
    struct Line: Decodable {
        var type: String
        // plan
        var thresholds: Thresholds?
        var steps: [Int]?
        var scenarioDirectory: String?
        // step / after-rollback
        var step: Int?
        var canaryWeight: Int?
        var requests: Int?
        var noResponse: Int?
        var split: Split?
        var beta: Beta?
        var canary: Subset?
        var breaches: [String]?
        // rollback
        var afterStep: Int?
        var revisionBefore: Int?
        var revisionAfter: Int?
        var canaryOwnFailures: Int?
        var rollbackCausedFailures: Int?
        // summary
        var breachedAtStep: Int?
        var rolledBack: Bool?
        var passed: Bool?
        var failedChecks: [String]?
        var reproduce: [Reproduce]?
    }
    struct Reproduce: Decodable { var step: Int; var canaryWeight: Int; var commands: [String] }

    /// Wilson's 99% score interval, written out here so that the demo's own is checked.
    static func wilson(_ successes: Int, _ trials: Int, z: Double = 2.5758293035489004) -> (Double, Double) {
        let n = Double(trials), p = Double(successes) / n, z2 = z * z
        let center = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        return (successes == 0 ? 0 : max(0, center - half), successes == trials ? 1 : min(1, center + half))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-demo-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func fastJSONRowsMatchTheirWeightsAndTheRollbackFailsNothing() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = try await MeshsimRunner.run(["demo", "--fast", "--output", "json", "--scenario-dir", directory.path], timeout: 60)
        #expect(output.status == 0, "stderr: \(output.stderr)\nstdout: \(output.stdout)")
        let lines = try output.stdout.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        let plan = try #require(lines.first)
        let summary = try #require(lines.last)
        #expect(plan.type == "plan" && summary.type == "summary")
        let thresholds = try #require(plan.thresholds)
        #expect(plan.steps == [0, 5, 25, 50, 100] && plan.scenarioDirectory == directory.path)

        let steps = lines.filter { $0.type == "step" }
        let rows = lines.filter { $0.type == "step" || $0.type == "after-rollback" }
        for row in rows {
            let split = try #require(row.split)
            let weight = Double(try #require(row.canaryWeight)) / 100
            #expect(split.configuredShare == weight)
            #expect(split.answered > 100 && split.withoutDestination == 0 && row.noResponse == 0)
            #expect(abs(split.canaryShare - Double(split.canaryCount) / Double(split.answered)) < 1e-12)
            // The printed interval is the 99% Wilson interval of the printed counts and holds the share.
            let (low, high) = Self.wilson(split.canaryCount, split.answered)
            #expect(abs(split.interval.low - low) < 1e-9 && abs(split.interval.high - high) < 1e-9)
            #expect(split.interval.low <= split.canaryShare && split.canaryShare <= split.interval.high)
            // Random picks: the weight must lie within the 99.99% interval (a correct split misses a
            // 99% interval once in a hundred steps, so that is not asserted here; the exact-mode test
            // asserts counts).
            let (wideLow, wideHigh) = Self.wilson(split.canaryCount, split.answered, z: 3.8905918864)
            #expect(wideLow <= weight && weight <= wideHigh, "step \(row.step ?? 0): \(split.canaryCount)/\(split.answered)")
            #expect(split.consistent)
            if weight == 0 { #expect(split.canaryCount == 0) }
            // Beta users always reach v2.
            let beta = try #require(row.beta)
            #expect(beta.answered > 10 && beta.subsets == ["v2": beta.answered] && beta.allOnCanary)
            // Breaches are exactly the thresholds crossed by the printed numbers.
            let canary = try #require(row.canary)
            let crossed = canary.errorRate > thresholds.maxErrorRate || (canary.p99Milliseconds ?? 0) > thresholds.maxP99Milliseconds
            #expect((row.breaches?.isEmpty == false) == crossed, "step \(row.step ?? 0): \(canary)")
        }

        // The rollout stops at the first step whose canary crossed a threshold, and rolls back there.
        // v2 cannot take all the traffic (0/100 puts twice its capacity on it), so some step trips;
        // which one depends on the load's timing (at 50/50 in a quiet run: ScenarioFilesTests
        // checks the arithmetic), so only the consistency with the printed numbers is asserted.
        let firstBreach = try #require(steps.first { $0.breaches?.isEmpty == false }, "the default scenario must trip: \(output.stdout)")
        let breachStep = try #require(firstBreach.step)
        #expect(steps.last?.step == breachStep)
        #expect(summary.breachedAtStep == breachStep)
        if firstBreach.canaryWeight == 0 {
            // Only beta users reached v2 (a stalled machine can push even their p99 over): nothing
            // to roll back, the rollout halts there.
            #expect(summary.rolledBack == false)
            #expect(lines.map(\.type) == ["plan", "step", "summary"])
        } else {
            #expect(summary.rolledBack == true)
            let rollback = try #require(lines.first { $0.type == "rollback" })
            #expect(rollback.afterStep == breachStep)
            #expect(rollback.rollbackCausedFailures == 0)
            #expect(try #require(rollback.revisionAfter) > (try #require(rollback.revisionBefore)))
            let after = try #require(lines.first { $0.type == "after-rollback" })
            #expect(after.canaryWeight == 0 && after.split?.canaryCount == 0)
            #expect(lines.map(\.type) == ["plan"] + steps.map { _ in "step" } + ["rollback", "after-rollback", "summary"])
        }

        #expect(summary.passed == true && summary.failedChecks == [])
        let reproduce = try #require(summary.reproduce)
        #expect(reproduce.map(\.step) == steps.compactMap(\.step))
        let commands = try #require(reproduce.last?.commands)
        #expect(commands[0].hasPrefix("meshsim serve -f \(directory.path)/workloads -f \(directory.path)/rollout/v2-"))
        #expect(commands[1].contains("--mix \(directory.path)/load-mix.yaml") && commands[1].contains("--expect v1="))
        for file in ["workloads/reviews.yaml", "load-mix.yaml", "rollout/v2-0.yaml", "rollout/v2-50.yaml"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file)")
        }
    }

    /// Exact split mode: every step's v2 count is its weight's share of the regular answers to within
    /// one, and the printed interval holds the weight.
    @Test func fastTextTableInExactModeShowsExactSplits() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = try await MeshsimRunner.run(["demo", "--fast", "--split", "exact", "--scenario-dir", directory.path], timeout: 60)
        #expect(output.status == 0, "stderr: \(output.stderr)\nstdout: \(output.stdout)")
        #expect(!output.stdout.contains("\u{1B}["), "no terminal escapes into a pipe")
        let row = /^(\d+)(r?)\s+(\d+)\/(\d+)\s+(\d+)\/(\d+)\s+([\d.]+)%\s+\[([\d.]+)–([\d.]+)\]\s+✓ exact\s+100% \((\d+)\)/
        var rows = 0
        var sawAfterRollback = false
        let anyRow = /^\d+r?\s+\d+\/\d+\s/
        for line in output.stdout.split(separator: "\n") where String(line).firstMatch(of: anyRow) != nil {
            // Every table row: exact counts, the interval, beta all on v2.
            guard let match = String(line).firstMatch(of: row) else {
                Issue.record("row not as expected: \(line)")
                continue
            }
            rows += 1
            if match.2 == "r" { sawAfterRollback = true }
            let stable = Int(match.3) ?? -1, canary = Int(match.4) ?? -1
            let count = Int(match.5) ?? -1, answered = Int(match.6) ?? -1
            #expect(stable + canary == 100)
            #expect(answered > 100 && abs(Double(count) - Double(answered * canary) / 100) <= 1, "\(line)")
            let low = Double(match.8) ?? -1, high = Double(match.9) ?? -1
            #expect(low <= Double(canary) && Double(canary) <= high, "\(line)")
            #expect((Int(match.10) ?? 0) > 10)
        }
        // A rollback after the step that breached; none only if v2 breached with beta users alone.
        let halted = output.stdout.contains("nothing to roll back")
        #expect(rows >= 1 && (halted || sawAfterRollback), "\(output.stdout)")
        if !halted {
            #expect(output.stdout.contains("↩ rollback to 100/0"))
            #expect(output.stdout.contains(", 0 caused by the rollback"))
        }
        #expect(output.stdout.contains("PASS: every split matched its weights"))
        #expect(output.stdout.contains("meshsim serve -f \(directory.path)/workloads -f \(directory.path)/rollout/v2-0.yaml --listen 127.0.0.1:15001 --workers 1 --split exact"))
        #expect(output.stdout.contains("curl -si -H 'Host: reviews' -H 'x-user-group: beta' http://127.0.0.1:15001/"))
    }

    @Test func badInputExitsTwoWithAReason() async throws {
        let steps = try await MeshsimRunner.run(["demo", "--steps", "50,25"], timeout: 60)
        #expect(steps.status == 2 && steps.stderr.contains("--steps: weights must increase (50 then 25)"))
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let routes = try await MeshsimRunner.run(
            ["demo", "--fast", "-f", "configs/reviews", "-f", "configs/header-routing", "--scenario-dir", directory.path], timeout: 60)
        #expect(routes.status == 2 && routes.stderr.contains("meshsim demo writes the routes of reviews itself"))
        let rate = try await MeshsimRunner.run(["demo", "--max-error-rate", "200%"], timeout: 60)
        #expect(rate.status == 2 && rate.stderr.contains("--max-error-rate"))
    }

    /// Ctrl-C in the middle of a step: the demo stops its load, proxy and pods and exits 130.
    @Test func interruptStopsEverythingAndExits130() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let demo = try ChildProcess(MeshsimRunner.binary.path, ["demo", "--scenario-dir", directory.path])
        defer { demo.terminate(grace: .zero) }
        func text() -> String { demo.standardOutput }
        // The header is printed once the mesh runs and the first step's load begins.
        #expect(await demo.waitUntil(timeout: .seconds(30)) { demo.standardOutput.contains("step  v1/v2") || !demo.isRunning }, "\(text())")
        let port = text().firstMatch(of: /proxy http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) }
        #expect(demo.isRunning)
        demo.send(SIGINT)
        #expect(await demo.wait(timeout: .seconds(20)) != nil, "still running 20s after SIGINT")
        #expect(demo.termination == .exited(130))
        let stderr = await demo.result(timeout: .seconds(20)).stderr
        #expect(stderr.contains("stopped on signal 2"))
        #expect(!text().contains("Summary"), "interrupted before the end")
        // The proxy's port is closed.
        if let port {
            let probe = try await ChildProcess.run(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "--max-time", "5", "-H", "Host: reviews", "http://127.0.0.1:\(port)/"],
                output: .discard, error: .discard, timeout: .seconds(30))
            #expect(probe.status == 7, "curl: couldn't connect")
        }
    }
}
