import Foundation

/// A bad demo option, with a one-line reason naming the option.
public struct DemoInputError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What `meshsim demo` runs: the load, the rollout steps, the thresholds that stop it.
public struct DemoSettings: Sendable, Hashable {
    public enum SplitMode: String, Sendable, Hashable, Codable, CaseIterable {
        /// Envoy's `random % total`, seeded: the observed share wanders around the weight.
        case random
        /// Smooth weighted round robin: every 100 regular requests hold the weights exactly.
        case exact
    }

    /// Open-loop requests per second, all classes together.
    public var rate: Double = 200
    /// How long each step is held under load.
    public var hold: Duration = .seconds(4)
    /// The canary's weight (percent) at each step, increasing; the stable subset gets the rest.
    public var steps: [Int] = DemoScenario.defaultSteps
    public var thresholds = CanaryThresholds()
    /// Seeds the proxy's random picks and the simulated pods' latencies.
    public var seed: UInt64 = 1
    public var split: SplitMode = .random
    /// Proxy event loops. One keeps the split exact over the whole run in exact mode and is ample
    /// for the demo's rate.
    public var proxyWorkers = 1
    /// The proxy's port; 0 picks a free one.
    public var port = 0
    /// The service rolled out, its namespace and subsets.
    public var host = "reviews"
    public var namespace = "default"
    public var stableSubset = "v1"
    public var canarySubset = "v2"
    /// Significance level below which a step's split is called inconsistent with its weights
    /// (chi-square), which fails the demo. Far below the 1% the printed 99% intervals imply, so
    /// that a correct split fails a run of several steps about once in two thousand runs, while a
    /// wrong one (35% observed for 25% configured, over a default step's 720 regular requests:
    /// p < 1e-9) still fails.
    public var alpha = 0.0001

    public init() {}

    /// `--fast`: the same scenario and rate (the rate is what overloads v2 at 50%), shorter holds.
    public static var fast: DemoSettings {
        var settings = DemoSettings()
        settings.hold = .milliseconds(1500)
        return settings
    }

    /// Under load at the step that breached, before the rollback is applied: long enough that the
    /// canary holds requests in flight when the routes change.
    public var rollbackLead: Duration { max(.milliseconds(250), hold / 4) }
    /// Under load after the rollback within the rollback window.
    public var rollbackTail: Duration { max(.milliseconds(500), hold / 4) }

    /// Load connections: one request at a time each (HTTP/1.1), so the open-loop schedule gives
    /// each connection a request every `connections / rate` seconds; one second is well above the
    /// slowest answer of the default scenario.
    public var connections: Int { min(10_000, max(32, Int((rate * 1.0).rounded(.up)))) }

    public func validate() throws {
        guard rate.isFinite, rate >= 10, rate <= 20_000 else {
            throw DemoInputError("--rate must be between 10 and 20000 requests per second")
        }
        guard hold >= .milliseconds(200), hold <= .seconds(3600) else {
            throw DemoInputError("--hold must be between 200ms and an hour")
        }
        try RolloutSteps.validate(steps)
        try thresholds.validate()
        guard (1...64).contains(proxyWorkers) else { throw DemoInputError("--workers must be between 1 and 64") }
        guard (0...65535).contains(port) else { throw DemoInputError("--port must be between 0 and 65535") }
        guard stableSubset != canarySubset else { throw DemoInputError("--stable and --canary must name different subsets") }
        for (option, value) in [("--host", host), ("--stable", stableSubset), ("--canary", canarySubset), ("--namespace", namespace)] {
            guard !value.isEmpty, value.utf8.allSatisfy(Self.isNameByte) else {
                throw DemoInputError("\(option): \"\(value)\" is not a DNS-style name (letters, digits, '-', '.')")
            }
        }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}

/// The `--steps` list: the canary's weight in percent at each step.
public enum RolloutSteps {
    /// Parses `0,5,25,50,100`.
    public static func parse(_ text: String) throws -> [Int] {
        var steps: [Int] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard let weight = Int(trimmed) else {
                throw DemoInputError("--steps: \"\(trimmed)\" is not a whole percentage (e.g. --steps 0,5,25,50,100)")
            }
            steps.append(weight)
        }
        try validate(steps)
        return steps
    }

    /// Each weight 0–100, strictly increasing (a rollout only moves forward), at most 20 steps.
    public static func validate(_ steps: [Int]) throws {
        guard !steps.isEmpty else { throw DemoInputError("--steps: give at least one weight") }
        guard steps.count <= 20 else { throw DemoInputError("--steps: at most 20 steps") }
        for weight in steps where !(0...100).contains(weight) {
            throw DemoInputError("--steps: \(weight) is not a percentage from 0 to 100")
        }
        for (previous, next) in zip(steps, steps.dropFirst()) where next <= previous {
            throw DemoInputError("--steps: weights must increase (\(previous) then \(next))")
        }
    }
}
