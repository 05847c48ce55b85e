import Foundation
import MeshLoad

/// The demo's text output: a header with the scenario and thresholds, one table row per step,
/// the rollback, a summary and the commands to redo it. Colour and a redrawn progress line only
/// when `terminal` is true.
public struct DemoTextRenderer: Sendable {
    public var terminal: Bool
    private var canary = "v2"
    private var stable = "v1"
    /// What is being held, for the progress line.
    private var holding = ""
    private var proxyAddress = ""

    public init(terminal: Bool) {
        self.terminal = terminal
    }

    /// The text for `event` (nil for events shown only on a terminal, off one).
    public mutating func render(_ event: DemoEvent) -> String? {
        switch event {
        case .plan(let plan):
            canary = plan.canarySubset
            stable = plan.stableSubset
            proxyAddress = plan.proxyAddress
            return header(plan)
        case .holdStarted(let step, let canaryWeight, let kind, let duration):
            let what = kind == "rollback" ? "rollback window from" : kind == "after-rollback" ? "after the rollback," : "step \(step),"
            holding = "\(what) \(100 - canaryWeight)/\(canaryWeight), \(Format.seconds(duration))"
            return nil
        case .progress(let interval):
            guard terminal else { return nil }
            return "\r\u{1B}[K" + paint(progress(interval), "2")
        case .step(let row):
            var text = clearProgress + line(row) + "\n"
            if row.backlog > max(5, (row.requests + row.backlog) / 50) {
                text += paint(
                    "      ! the load generator fell behind: \(row.backlog) of \(row.requests + row.backlog) requests not sent "
                        + "(a busy machine; traffic came in bursts)", "33") + "\n"
            }
            return text
        case .rollback(let row):
            return clearProgress + rollbackLine(row) + "\n"
        case .summary(let summary):
            return summaryText(summary)
        }
    }

    private var clearProgress: String { terminal ? "\r\u{1B}[K" : "" }

    private func paint(_ text: String, _ code: String) -> String {
        terminal ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func progress(_ interval: IntervalReport) -> String {
        let errors = interval.errors.total
        return "   … \(holding): " + String(
            format: "%.1fs, %.0f answers/s, %d failed", interval.elapsedSeconds, interval.requestsPerSecond, errors)
    }

    // MARK: header

    func header(_ plan: PlanRow) -> String {
        var text = paint("meshsim demo", "1") + ": canary rollout of \(plan.host) \(plan.canarySubset) with automatic rollback\n\n"
        for workload in plan.workloads { text += "  \(workload)\n" }
        text += "  proxy http://\(plan.proxyAddress) (split \(plan.splitMode)\(plan.splitMode == "random" ? ", seed \(plan.seed)" : ""))\n"
        text += "  load \(ReproductionCommands.number(plan.rate)) requests/s open loop, \(Format.percent(plan.betaShare, digits: 0)) beta users "
        text += "(x-user-group: beta → \(plan.canarySubset)), \(Format.seconds(.milliseconds(Int64(plan.holdSeconds * 1000)))) per step\n"
        if let capacity = plan.canaryCapacity, let mean = plan.canaryMeanLatencyMilliseconds {
            let expected = zip(plan.steps, plan.expectedCanaryInFlight).map { "\($0.0)%: \(String(format: "%.0f", $0.1))" }
            text += "  \(plan.canarySubset) accepts \(capacity) requests at once; in flight by Little's law "
            text += "(rate × its share × \(Format.milliseconds(mean)) mean latency): \(expected.joined(separator: ", "))\n"
        }
        text += "  roll back when \(plan.canarySubset)'s error rate > \(Format.percent(plan.thresholds.maxErrorRate)) "
        text += "or its p99 > \(Format.milliseconds(plan.thresholds.maxP99Milliseconds))\n\n"
        text += paint(columns(
            "step", "\(plan.stableSubset)/\(plan.canarySubset)", "regular → \(plan.canarySubset) (99% CI)", "beta → \(plan.canarySubset)",
            "\(plan.stableSubset) err", "\(plan.stableSubset) p99", "\(plan.canarySubset) err", "\(plan.canarySubset) p99",
            "\(plan.canarySubset) refused", "verdict"), "1") + "\n"
        return text
    }

    private func columns(_ c: String...) -> String {
        let widths = [5, 8, 34, 12, 7, 8, 7, 8, 11, 0]
        return zip(c, widths).map { text, width in text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
            .joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    // MARK: rows

    func line(_ row: StepRow) -> String {
        let split = row.split
        let interval = "[\(String(format: "%.1f", split.interval.low * 100))–\(String(format: "%.1f", split.interval.high * 100))]"
        // ✓: the weight lies inside the 99% interval. A consistent split misses it about once in a
        // hundred steps by chance; then the chi-square p-value shows it is chance. ✗: inconsistent.
        let mark: String
        if !split.consistent {
            mark = paint("✗", "31;1")
        } else if split.configuredWithinInterval || split.exactCountHolds == true {
            mark = split.exactCountHolds == true ? "✓ exact" : "✓"
        } else {
            mark = "(p=\(split.pValue.map { String(format: "%.3f", $0) } ?? "-"))"
        }
        let share = "\(split.canaryCount)/\(split.answered) \(Format.percent(split.canaryShare)) \(interval) \(mark)"
        let betaTotal = row.beta.answered
        let betaOnCanary = row.beta.subsets[canary] ?? 0
        let beta = betaTotal > 0 ? "\(Format.percent(Double(betaOnCanary) / Double(betaTotal), digits: 0)) (\(betaTotal))" : "-"
        let verdict: String
        if !row.breaches.isEmpty {
            verdict = paint("BREACH: " + row.breaches.joined(separator: "; "), "31;1")
        } else if row.type == "after-rollback" {
            verdict = paint("rolled back: regular traffic on \(stable)", "32")
        } else {
            verdict = paint("ok", "32")
        }
        let step = row.type == "after-rollback" ? "\(row.step)r" : "\(row.step)"
        return columns(
            step, "\(row.stableWeight)/\(row.canaryWeight)", share, beta, Format.percent(row.stable.errorRate, digits: 2),
            row.stable.p99Milliseconds.map(Format.milliseconds) ?? "-", Format.percent(row.canary.errorRate, digits: 2),
            row.canary.p99Milliseconds.map(Format.milliseconds) ?? "-", String(row.canary.podRejections), verdict)
    }

    func rollbackLine(_ row: RollbackRow) -> String {
        var text = paint("      ↩ rollback to 100/0", "33;1")
        text += String(
            format: ": revision %d → %d, one snapshot swap applied in %.1fms with %d requests in flight on %@\n", row.revisionBefore,
            row.revisionAfter, row.applyMilliseconds, row.canaryInFlightAtSwap, canary)
        text += String(format: "        window %.1fs, %d requests: %d failures were %@'s own 503s, ", row.windowSeconds, row.requests, row.canaryOwnFailures, canary)
        let caused = "\(row.rollbackCausedFailures) caused by the rollback"
        if row.rollbackCausedFailures == 0 {
            text += paint(caused, "32")
        } else {
            let kinds = row.rollbackCausedKinds.keys.sorted().map { "\($0): \(row.rollbackCausedKinds[$0] ?? 0)" }.joined(separator: ", ")
            text += paint("\(caused) (\(kinds))", "31;1")
        }
        return text
    }

    // MARK: summary

    func summaryText(_ summary: SummaryRow) -> String {
        var text = "\n" + paint("Summary", "1") + "\n"
        if let step = summary.breachedAtStep {
            let healthy = summary.lastHealthyCanaryWeight.map {
                $0 == 0 ? "\(canary) was healthy with the beta users alone; " : "\(canary) was healthy up to \($0)% of regular traffic; "
            } ?? ""
            text += "  \(healthy)it crossed a threshold at step \(step)"
            text += summary.rolledBack ? " and all regular traffic went back to \(stable) at once (100/0).\n" : "; nothing to roll back.\n"
        } else if summary.completed {
            text += "  \(canary) stayed healthy at every step: the rollout completed.\n"
        }
        if summary.passed {
            text += "  " + paint("PASS", "32;1") + ": every split matched its weights, beta users always reached \(canary)"
            text += summary.rolledBack ? ", and the rollback failed no request.\n" : ".\n"
        } else {
            text += "  " + paint("FAIL", "31;1") + ":\n"
            for check in summary.failedChecks { text += "    - \(check)\n" }
        }
        text += "\n" + paint("Reproduce by hand", "1") + " (scenario files in \(summary.scenarioDirectory), kept for these commands;\n"
        text += "the demo's proxy on \(proxyAddress) has stopped, meshsim serve listens on \(ReproductionCommands.listen)):\n"
        for step in summary.reproduce {
            text += "  # step \(step.step): \(100 - step.canaryWeight)/\(step.canaryWeight)"
            text += summary.rolledBack && step.canaryWeight == 0 ? " (also the routes the rollback applied)\n" : "\n"
            for command in step.commands { text += "  \(command)\n" }
        }
        text += "  # one request each, while meshsim serve runs:\n"
        for command in summary.curl { text += "  \(command)\n" }
        return text
    }
}
