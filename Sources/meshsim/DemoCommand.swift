import ArgumentParser
import Foundation
import MeshConfig
import MeshDemo
import MeshLoad
import MeshProxy

/// `meshsim demo`: a canary rollout with automatic rollback, in one process.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll a canary out step by step under load, and roll it back when it degrades.",
        discussion: """
            Starts simulated reviews v1 and v2 pods (v2 answers 503 beyond its concurrency limit) and \
            the proxy, then applies 100/0, 95/5, 75/25, 50/50 and 0/100 with a beta-user rule \
            (x-user-group: beta always reaches v2), holding each step under constant-rate load. After \
            each step it prints the observed split with its 99% confidence interval, where beta users \
            went, and each subset's error rate and p99. When v2 crosses --max-error-rate or --max-p99 \
            it applies 100/0 while the load goes on and counts requests the rollback itself failed. \
            Needs no files: the scenario is built in (the same as configs/demo) and written to a \
            temporary directory for the commands that reproduce each step by hand; -f uses your own \
            workloads instead. Exit status: 0 every check held, 1 a check failed, 2 bad input.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @OptionGroup var config: ConfigOptions

    @Flag(help: "Short holds (1.5s) for tests and CI: the whole demo in about 10 seconds.")
    var fast = false

    @Option(help: "Requests per second, open loop (default 200).")
    var rate: Double?

    @Option(help: "How long each step is held under load, e.g. 4s, 1500ms (default 4s; 1.5s with --fast).")
    var hold: String?

    @Option(help: "v2's weight at each step, in percent.")
    var steps: String = "0,5,25,50,100"

    @Option(name: .customLong("max-error-rate"), help: "Roll back when v2's error rate is above this (1% or 0.01).")
    var maxErrorRate: String = "1%"

    @Option(name: .customLong("max-p99"), help: "Roll back when v2's p99 latency is above this.")
    var maxP99: String = "2s"

    @Option(help: "Seed of the proxy's random picks and the pods' latencies.")
    var seed: UInt64 = 1

    @Option(help: "How the proxy picks weighted destinations: random (Envoy's) or exact.")
    var split: DemoSettings.SplitMode = .random

    @Option(help: "The proxy's port (0: a free one).")
    var port: Int = 0

    @Option(help: "The service rolled out (with -f).")
    var host: String = "reviews"

    @Option(help: "Its stable subset (with -f).")
    var stable: String = "v1"

    @Option(help: "Its canary subset (with -f).")
    var canary: String = "v2"

    @Option(name: .customLong("scenario-dir"), help: "Write the scenario files here instead of a new temporary directory.")
    var scenarioDirectory: String?

    @Option(help: "text (a table) or json (one object per line).")
    var output: OutputFormat = .text

    func run() async throws {
        let settings: DemoSettings
        let directory: String
        do {
            settings = try makeSettings()
            directory = try scenarioDirectory ?? DemoRunner.makeScenarioDirectory()
        } catch {
            throw Self.report(error)
        }
        let runner = DemoRunner(settings: settings, workloadFiles: config.files, scenarioDirectory: directory)
        let terminal = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let console = DemoConsole(format: output == .json ? .json : .text(terminal: terminal)) { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        let signals = TerminationSignal()
        let demo = Task { try await runner.run { console.show($0) } }
        let caught = CaughtSignal()
        // Ctrl-C or SIGTERM cancels the demo, which stops its load, proxy and pods before returning.
        let watcher = Task {
            let signal = await signals.wait()
            caught.set(signal)
            demo.cancel()
        }
        let result = await demo.result
        watcher.cancel()
        switch result {
        case .success(let summary):
            if !summary.passed { throw ExitCode(1) }
        case .failure(let error):
            if let signal = caught.value {
                printError("meshsim demo: stopped on signal \(signal); everything it started is shut down")
                throw ExitCode(128 + signal)
            }
            throw Self.report(error)
        }
    }

    /// Prints why the demo could not run; bad input exits 2, anything else 1.
    static func report(_ error: any Error) -> ExitCode {
        switch error {
        case let error as DemoInputError:
            printError("meshsim demo: \(error.message)")
        case let error as LoadInputError:
            printError("meshsim demo: \(error.message)")
        case let error as LocalMesh.ConfigError:
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
        case let error as DemoConfigError:
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
        default:
            printError("meshsim demo: \(error)")
            return ExitCode(1)
        }
        return ExitCode(2)
    }

    func makeSettings() throws -> DemoSettings {
        var settings = fast ? DemoSettings.fast : DemoSettings()
        if let rate { settings.rate = rate }
        if let hold {
            guard let parsed = parseDuration(hold) else {
                throw DemoInputError("--hold: invalid duration \"\(hold)\" (e.g. 4s, 1500ms)")
            }
            settings.hold = parsed
        }
        settings.steps = try RolloutSteps.parse(steps)
        settings.thresholds.maxErrorRate = try CanaryThresholds.parseRate(maxErrorRate)
        guard let p99 = parseDuration(maxP99) else {
            throw DemoInputError("--max-p99: invalid duration \"\(maxP99)\" (e.g. 1s, 800ms)")
        }
        settings.thresholds.maxP99Milliseconds = Double(p99.components.seconds) * 1000 + Double(p99.components.attoseconds) / 1e15
        settings.seed = seed
        settings.split = split
        settings.port = port
        settings.host = host
        settings.namespace = config.namespace
        settings.stableSubset = stable
        settings.canarySubset = canary
        try settings.validate()
        return settings
    }
}

extension DemoSettings.SplitMode: ExpressibleByArgument {}

/// The signal that interrupted the demo, if one did.
final class CaughtSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var signal: Int32?

    func set(_ value: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if signal == nil { signal = value }
    }

    var value: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }
}
