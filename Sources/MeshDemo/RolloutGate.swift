import Foundation

/// When the canary is unhealthy: its error rate (5xx answers over its answers) or its p99 latency
/// above these. Equal is still healthy.
public struct CanaryThresholds: Sendable, Hashable, Codable {
    /// A fraction: 0.01 is 1%.
    public var maxErrorRate: Double
    public var maxP99Milliseconds: Double

    /// 1% errors: above what the default scenario's canary shows below its concurrency limit
    /// (almost always none), well below what it shows above it (5–10%). 2s of p99: several times
    /// the canary's own (300ms), so that a shared machine's hiccups do not trip it; lower it to
    /// see a latency rollback.
    public init(maxErrorRate: Double = 0.01, maxP99Milliseconds: Double = 2000) {
        self.maxErrorRate = maxErrorRate
        self.maxP99Milliseconds = maxP99Milliseconds
    }

    public func validate() throws {
        guard maxErrorRate.isFinite, maxErrorRate >= 0, maxErrorRate <= 1 else {
            throw DemoInputError("--max-error-rate must be between 0% and 100%")
        }
        guard maxP99Milliseconds.isFinite, maxP99Milliseconds > 0 else {
            throw DemoInputError("--max-p99 must be a positive duration")
        }
    }

    /// Why `canary` is unhealthy, one line per threshold crossed; empty when it is healthy or got
    /// no answers (nothing to judge).
    public func breaches(of canary: SubsetObservation) -> [String] {
        guard canary.answers > 0 else { return [] }
        var reasons: [String] = []
        if canary.errorRate > maxErrorRate {
            reasons.append(
                "\(canary.subset) error rate \(Format.percent(canary.errorRate)) > \(Format.percent(maxErrorRate)) (\(canary.errors) of \(canary.answers) answers)")
        }
        if let p99 = canary.p99Milliseconds, p99 > maxP99Milliseconds {
            reasons.append("\(canary.subset) p99 \(Format.milliseconds(p99)) > \(Format.milliseconds(maxP99Milliseconds))")
        }
        return reasons
    }

    /// Parses `--max-error-rate`: `1%` or `0.01`.
    public static func parseRate(_ text: String) throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value = trimmed.hasSuffix("%") ? Double(trimmed.dropLast()).map { $0 / 100 } : Double(trimmed)
        guard let value, value.isFinite, value >= 0, value <= 1 else {
            throw DemoInputError("--max-error-rate: expected a percentage (1%) or a fraction (0.01), not \"\(text)\"")
        }
        return value
    }
}

/// What to do after a step, given the breaches of its canary. Pure, so that the rules can be
/// tested without traffic.
public struct RolloutGate: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// Healthy: go on to the step at this index.
        case advance(toStep: Int)
        /// Healthy at the last step: the rollout is complete.
        case complete
        /// Unhealthy with part of the regular traffic on the canary: put it all back on the
        /// stable subset (the last known-good routes, weight 0).
        case rollBack
        /// Unhealthy while regular traffic is already all on the stable subset (only beta users
        /// reach the canary): there is nothing to roll back; the rollout stops here.
        case halt
    }

    public let steps: [Int]
    public let thresholds: CanaryThresholds

    public init(steps: [Int], thresholds: CanaryThresholds) {
        self.steps = steps
        self.thresholds = thresholds
    }

    public func action(afterStep index: Int, breaches: [String]) -> Action {
        guard breaches.isEmpty else {
            return steps.indices.contains(index) && steps[index] > 0 ? .rollBack : .halt
        }
        return index + 1 < steps.count ? .advance(toStep: index + 1) : .complete
    }

    /// The index of the first step whose canary crossed a threshold: where the rollout stops.
    public func firstBreachingStep(_ canaries: [SubsetObservation]) -> Int? {
        canaries.firstIndex { !thresholds.breaches(of: $0).isEmpty }
    }
}

/// Number formatting shared by rows, reasons and the renderer.
public enum Format {
    public static func percent(_ fraction: Double, digits: Int = 1) -> String {
        String(format: "%.\(digits)f%%", fraction * 100)
    }

    public static func milliseconds(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0fms", value) : String(format: "%.1fms", value)
    }

    public static func seconds(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : String(format: "%gs", seconds)
    }
}
