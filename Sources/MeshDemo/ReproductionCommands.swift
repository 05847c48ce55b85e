import Foundation

/// The commands that redo a step by hand with the demo's own files: `meshsim serve` on the step's
/// routes, `meshsim load` with the demo's traffic and the step's expected split, and curl.
struct ReproductionCommands: Sendable {
    /// `meshsim serve`'s default listener, so that the commands work as printed.
    static let listen = "127.0.0.1:15001"

    let settings: DemoSettings
    let scenario: DemoRunner.Scenario

    func serve(canaryWeight: Int) -> String {
        var words = ["meshsim", "serve"]
        for path in scenario.workloadPaths + [scenario.routePaths[canaryWeight] ?? DemoScenario.rolloutFile(canaryWeight: canaryWeight)] {
            words += ["-f", Self.quote(path)]
        }
        if settings.namespace != "default" { words += ["--namespace", Self.quote(settings.namespace)] }
        words += ["--listen", Self.listen, "--workers", String(settings.proxyWorkers), "--split", settings.split.rawValue]
        if settings.split == .random { words += ["--seed", String(settings.seed)] }
        return words.joined(separator: " ")
    }

    func load(canaryWeight: Int) -> String {
        [
            "meshsim", "load", "http://\(Self.listen)/", "-H", Self.quote("Host: \(settings.host)"),
            "--rps", Self.number(settings.rate), "--connections", String(settings.connections),
            "--duration", Format.seconds(settings.hold), "--mix", Self.quote(scenario.mixPath),
            "--expect", "\(settings.stableSubset)=\(100 - canaryWeight),\(settings.canarySubset)=\(canaryWeight)", "--check",
        ].joined(separator: " ")
    }

    func steps(_ rows: [StepRow]) -> [ReproductionStep] {
        rows.map { ReproductionStep(step: $0.step, canaryWeight: $0.canaryWeight, commands: [serve(canaryWeight: $0.canaryWeight), load(canaryWeight: $0.canaryWeight)]) }
    }

    func curl() -> [String] {
        [
            "curl -si -H \(Self.quote("Host: \(settings.host)")) http://\(Self.listen)/",
            "curl -si -H \(Self.quote("Host: \(settings.host)")) -H 'x-user-group: beta' http://\(Self.listen)/",
        ]
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e12 ? String(Int(value)) : String(value)
    }

    /// POSIX shell quoting: bare when only safe characters, else single quotes.
    static func quote(_ word: String) -> String {
        let safe = word.unicodeScalars.allSatisfy { scalar in
            (scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))) || "-_./=:,@%+".unicodeScalars.contains(scalar)
        }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
