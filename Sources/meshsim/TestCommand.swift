import ArgumentParser
import MeshConfig
import MeshRouting

/// `meshsim test`: route tests for CI, in the spirit of Envoy's router_check_tool, on Istio YAML.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run route test cases (CASES.yaml) against the configuration; fail on a wrong route or low rule coverage.",
        discussion: """
            Each case gives a request and what must happen to it (status, response flags,
            VirtualService, rule, host, subset, or the fraction per subset). Every case is
            reported with the reason it failed; then the rules no case reached (coverage).
            Exit status 1 when a case fails, or coverage is under --fail-under.
            Example: meshsim test -f configs/reviews -f configs/header-routing scenarios/route-tests.yaml
            The file format is documented in scenarios/route-tests.yaml.
            """)

    @OptionGroup var config: ConfigOptions
    @OptionGroup var client: ClientOptions

    @Option(name: .long, help: "Minimum rule coverage in percent (0–100); below it the command fails.")
    var failUnder: Double?

    @Argument(help: "The test cases file.")
    var cases: String

    func validate() throws {
        if let failUnder, !(0...100).contains(failUnder) { throw ValidationError("--fail-under takes a percentage from 0 to 100") }
    }

    func run() throws {
        let options = try client.routingOptions()
        let snapshot = try config.loadSnapshot(options: options)
        let tests: [(RouteTestCase, line: Int)]
        switch RouteTestLoading.load(cases) {
        case .success(let loaded): tests = loaded
        case .failure(let diagnostic):
            printError(diagnostic.description)
            throw ExitCode.failure
        }

        var failed = 0
        var reached: Set<RouteRef> = []
        for (test, line) in tests {
            let request: RouteRequest
            do {
                request = try test.routeRequest { try snapshot.authority(nil) }
            } catch let error as ValidationError {
                failed += 1
                print("FAIL  \(test.name)  (\(cases):\(line)): \(error.message)")
                continue
            }
            let explanation = snapshot.explain(request)
            if let ref = explanation.route { reached.insert(ref) }
            let failures = test.failures(explanation, clientNamespace: options.clientNamespace)
            if failures.isEmpty {
                print("PASS  \(test.name)")
            } else {
                failed += 1
                print("FAIL  \(test.name)  (\(cases):\(line))")
                for failure in failures { print("      \(failure)") }
            }
        }

        let rules = snapshot.virtualServices.flatMap { vs in vs.rules.map { (vs, $0) } }
        let missed = rules.filter { !reached.contains($0.1.ref) }
        let coverage = rules.isEmpty ? 100 : Double(rules.count - missed.count) * 100 / Double(rules.count)
        print("")
        print("coverage: \(rules.count - missed.count)/\(rules.count) rules (\(Self.format(coverage))%)")
        for (vs, rule) in missed {
            print("  not reached: \(vs.name) rule \(rule.index)\(rule.name.map { " \"\($0)\"" } ?? "")  (\(vs.file):\(rule.line))")
        }
        print("\(tests.count - failed) passed, \(failed) failed")
        var failing = failed > 0
        if let failUnder, coverage < failUnder {
            print("coverage \(Self.format(coverage))% is under --fail-under \(Self.format(failUnder))%")
            failing = true
        }
        if failing { throw ExitCode.failure }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : "\((value * 10).rounded() / 10)"
    }
}
