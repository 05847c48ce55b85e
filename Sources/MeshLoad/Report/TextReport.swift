import Foundation

/// Human-readable renderings of reports, for `meshsim load` and `meshsim demo`.
extension LoadReport {
    public func renderText() -> String {
        var lines: [String] = []
        let pacing = concurrency.map { "closed loop, concurrency \($0)" } ?? "open loop at \(Self.number(targetRate ?? 0)) req/s"
        let warm = warmupSeconds > 0 ? ", after \(Self.seconds(warmupSeconds)) warmup" : ""
        lines.append("\(target): \(pacing), \(Self.plural(connections, "connection")), \(Self.plural(threads, "thread")), \(Self.seconds(durationSeconds))\(warm)")
        var requestLine = "  requests   \(requests) sent, \(completed) answered, \(Self.number(requestsPerSecond)) req/s"
        if let backlog, backlog > 0 { requestLine += ", \(backlog) not sent in time (backlog)" }
        lines.append(requestLine)
        lines.append("  errors     \(errors.renderText())")
        if let latency { lines.append("  latency    \(latency.renderText())") }
        for group in byStatus {
            lines.append("  status \(group.key) \(Self.pad(String(group.count), 9))  \(group.latency?.renderText() ?? "")")
        }
        for group in bySubset {
            lines.append("  subset \(Self.pad(group.key, 6)) \(Self.pad(String(group.count), 7))  \(group.latency?.renderText() ?? "")")
        }
        for report in classes {
            lines.append(contentsOf: report.split.renderText(className: classes.count > 1 ? report.name : nil))
        }
        if let verdict { lines.append("verdict: \(verdict.rawValue)") }
        return lines.joined(separator: "\n")
    }

    static func plural(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    static func number(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    static func seconds(_ value: Double) -> String { String(format: "%.2fs", value) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

extension ErrorCounts {
    public func renderText() -> String {
        guard total > 0 else { return "none" }
        var parts: [String] = []
        for (name, count) in [
            ("connect", connect), ("timeout", timeout), ("reset", reset), ("closed", closed), ("protocol", `protocol`),
            ("4xx", status4xx), ("5xx", status5xx), ("grpc", grpc),
        ] where count > 0 {
            parts.append("\(name) \(count)")
        }
        return "\(total) (" + parts.joined(separator: ", ") + ")"
    }
}

extension LatencySummary {
    public func renderText() -> String {
        "p50 \(Self.ms(p50Ms))  p90 \(Self.ms(p90Ms))  p99 \(Self.ms(p99Ms))  p99.9 \(Self.ms(p999Ms))  max \(Self.ms(maxMs))"
    }

    static func ms(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0fms", value) : value >= 10 ? String(format: "%.1fms", value) : String(format: "%.2fms", value)
    }
}

extension SplitCheck {
    /// The split table; `className` is printed when a run has several classes.
    public func renderText(className: String?) -> [String] {
        var lines: [String] = []
        let title = className.map { "split of class \($0)" } ?? "split"
        let source = expectationSource.map { " (expected: \($0))" } ?? ""
        lines.append("\(title): \(answered) answers naming a destination\(withoutDestination > 0 ? ", \(withoutDestination) without" : "")\(source)")
        guard !subsets.isEmpty else { return lines }
        lines.append("  subset     observed    share    99% interval        expected")
        for share in subsets {
            let interval = String(format: "[%.2f%%, %.2f%%]", share.interval.low * 100, share.interval.high * 100)
            var expected = share.expectedShare.map { String(format: "%.2f%%", $0 * 100) } ?? "-"
            if share.expectedWithinInterval == false { expected += "  outside" }
            lines.append(
                "  " + LoadReport.pad(share.subset, 10) + " " + LoadReport.pad(String(share.observedCount), 10) + "  "
                    + LoadReport.pad(String(format: "%.2f%%", share.observedShare * 100), 8) + " " + LoadReport.pad(interval, 19) + " " + expected)
        }
        if let chiSquare, let degreesOfFreedom, let pValue {
            lines.append("  chi-square \(SplitCheck.format(chiSquare)) on \(degreesOfFreedom) df, p = \(SplitCheck.formatP(pValue))")
        }
        if exactChecked { lines.append("  exact counts checked") }
        for note in notes { lines.append("  note: \(note)") }
        if let verdict { lines.append("  \(verdict.rawValue)") }
        return lines
    }
}

extension IntervalReport {
    /// One progress line: elapsed, rate, errors, totals.
    public func renderProgress() -> String {
        let phaseText = phase == .measure ? "" : " \(phase.rawValue)"
        var text = String(format: "[%6.1fs]", elapsedSeconds) + phaseText
        text += String(format: " %8.0f req/s  errors %d  answered %d", requestsPerSecond, errors.total, totalCompleted)
        if let latency { text += "  p99 " + LatencySummary.ms(latency.p99Ms) }
        return text
    }
}
