import ArgumentParser
import Foundation
import MeshConfig
import MeshLoad

/// `meshsim load URL`: drive HTTP/1.1 load and check the observed split.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send HTTP/1.1 load to a URL and check which subsets answered against the expected split.",
        discussion: """
            Closed loop (--concurrency, as fast as the target allows) or open loop (--rps, a constant \
            rate; latency counts from each request's intended send time, so a stall cannot hide). \
            The destination of each answer is read from a response header (x-meshsim-destination, \
            "host|subset"); --expect v1=95,v2=5 or -f CONFIGS give the expected shares, and the report \
            shows 99% Wilson intervals, a chi-square p-value and a verdict.
            Exit status: 0 done, 1 split FAIL with --check, 2 bad input or unreachable target.

            --check in CI: a random split (serve's default, as Envoy's) varies from run to run, and \
            the chi-square test fails a correct one with probability --alpha: with the default 0.01, \
            about one run in a hundred (each request class of a --mix is a test of its own, so the \
            chances add up). A lower --alpha (0.001: one in a thousand) fails less often by chance \
            but lets a smaller deviation pass. For a verdict that is the same on every run, make the \
            split deterministic: serve --split exact --workers 1 with load --exact (exact counts, so \
            a wrong weight always fails), or serve --seed N --workers 1, started afresh for each run \
            (the same random picks every time).
            """)

    @Argument(help: "The target, http://host[:port][/path].")
    var url: String

    @Option(help: "Closed loop: requests in flight (default: --connections).")
    var concurrency: Int?

    @Option(help: "Open loop: requests per second, latency from intended send times.")
    var rps: Double?

    @Option(help: "Measured time, e.g. 10s, 1m (default 10s unless --requests is given).")
    var duration: String?

    @Option(help: "Measured requests to send (with --duration too, whichever ends first).")
    var requests: Int?

    @Option(help: "TCP connections (default: --concurrency, or 10 in open loop).")
    var connections: Int?

    @Option(help: "Generator event-loop threads (default: the number of cores).")
    var threads: Int?

    @Option(help: "Warmup before measuring; its requests are not counted.")
    var warmup: String = "0s"

    @Option(help: "Per-request timeout.")
    var timeout: String = "5s"

    @Option(name: [.customShort("H"), .customLong("header")], help: "A header for every request, 'name: value'. Repeatable.")
    var headers: [String] = []

    @Option(help: "Request method.")
    var method: String = "GET"

    @Option(name: .customLong("body-bytes"), help: "Request body size in bytes.")
    var bodyBytes: Int = 0

    @Option(help: "A YAML file of weighted request classes (see scenarios/load-mix.yaml).")
    var mix: String?

    @Option(name: .customLong("subset-header"), help: "Response header naming the destination; its value after '|' is the subset.")
    var subsetHeader: String = "x-meshsim-destination"

    @Option(help: "Expected shares, e.g. v1=95,v2=5 (percent, or fractions summing to 1).")
    var expect: String?

    @OptionGroup var config: ConfigOptions

    @Option(help: "Host/authority of the requests (default: -H Host, else the URL's).")
    var authority: String?

    @Flag(help: "Demand exact counts (serve --split exact --workers 1) where answers fill whole weight windows.")
    var exact = false

    @Flag(help: "Exit with status 1 when the split verdict is FAIL (on a random split, a correct one fails too with probability --alpha).")
    var check = false

    @Option(help: "The chi-square test's significance level: the chance that a correct random split fails (0.01: one run in a hundred).")
    var alpha: Double = 0.01

    @Option(help: "Report format: text or json.")
    var output: OutputFormat = .text

    @Flag(help: "No progress lines.")
    var quiet = false

    @Option(help: "Progress interval.")
    var interval: String = "1s"

    @Flag(help: "HTTP/2 with prior knowledge (h2c): --streams requests in flight on each of --connections.")
    var http2 = false

    @Option(help: "HTTP/2: concurrent streams per connection.")
    var streams: Int = 10

    @Flag(help: ArgumentHelp(
        "gRPC calls over h2c (implies --http2): POST with content-type application/grpc and one message of --body-bytes; answers counted by grpc-status.",
        discussion: "A call whose grpc-status is not 0 (OK) counts as an error (\"grpc\" in the report), and the statuses list it as \"grpc N\": a gRPC canary's injected UNAVAILABLE shows as grpc 14 where HTTP shows 200."))
    var grpc = false

    enum OutputFormat: String, ExpressibleByArgument {
        case text, json
    }

    func run() async throws {
        let configuration: LoadConfiguration
        do {
            configuration = try makeConfiguration()
        } catch let error as LoadInputError {
            printError("meshsim load: \(error.message)")
            throw ExitCode(2)
        }

        let progress = ProgressPrinter(
            enabled: !quiet, toStandardError: output == .json,
            redraw: output == .text && isatty(STDOUT_FILENO) == 1)
        let report: LoadReport
        do {
            let run = try await LoadRun.start(configuration)
            for await interval in run.intervals { progress.show(interval) }
            progress.end()
            report = await run.report
        } catch let error as LoadInputError {
            printError("meshsim load: \(error.message)")
            throw ExitCode(2)
        }

        switch output {
        case .text:
            print(report.renderText())
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(report)
            print(String(decoding: data, as: UTF8.self))
        }
        if check && report.verdict == .fail { throw ExitCode(1) }
    }

    /// gRPC runs over HTTP/2 whether or not --http2 was given.
    private var usesHTTP2: Bool { http2 || grpc }

    func makeConfiguration() throws -> LoadConfiguration {
        let target = try TargetURL(parsing: url)
        if concurrency != nil && rps != nil { throw LoadInputError("give --concurrency (closed loop) or --rps (open loop), not both") }
        let commonHeaders = try headers.map(HeaderField.init(parsing:))
        let durationValue = try duration.map { try Self.duration($0, option: "--duration") } ?? (requests == nil ? .seconds(10) : nil)
        let pacing: LoadConfiguration.Pacing
        if let rps {
            pacing = .openLoop(requestsPerSecond: rps)
        } else {
            // HTTP/2 fills every stream of every connection (one connection by default).
            pacing = .closedLoop(concurrency: concurrency ?? (usesHTTP2 ? (connections ?? 1) * streams : connections ?? 10))
        }
        let defaults = RequestClass(method: method, path: target.pathAndQuery, bodyBytes: bodyBytes)
        var classes = [defaults]
        if let mix { classes = try RequestMix.load(path: mix, defaults: defaults) }
        let expected = try expect.map { try ExpectedShares(parsing: $0) }
        if expected != nil && !config.files.isEmpty {
            throw LoadInputError("give --expect or -f, not both: -f derives the expected shares from the configs")
        }
        var configuration = LoadConfiguration(
            target: target, pacing: pacing, duration: durationValue, requestLimit: requests, connections: connections,
            threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, warmup: try Self.duration(warmup, option: "--warmup"),
            requestTimeout: try Self.duration(timeout, option: "--timeout"), classes: classes, commonHeaders: commonHeaders,
            authority: authority, subsetHeader: subsetHeader, expected: expected, alpha: alpha, exact: exact,
            httpVersion: usesHTTP2 ? .http2 : .http1_1, reportInterval: try Self.duration(interval, option: "--interval"),
            streamsPerConnection: streams, grpc: grpc)
        if !config.files.isEmpty {
            configuration = try expectationsFromConfigs(configuration)
        }
        if check && configuration.expected == nil && configuration.classes.allSatisfy({ $0.expected == nil }) {
            throw LoadInputError("--check has nothing to check: give --expect, -f CONFIGS, or expect in the --mix file")
        }
        try configuration.validate()
        return configuration
    }

    static func duration(_ text: String, option: String) throws -> Duration {
        guard let parsed = parseDuration(text, allowingZero: true) else {
            throw LoadInputError("\(option): invalid duration \"\(text)\" (e.g. 10s, 500ms, 1m)")
        }
        return parsed
    }
}

/// Progress while a run goes: one line redrawn with \r on a terminal, plain lines otherwise.
struct ProgressPrinter {
    var enabled: Bool
    var toStandardError: Bool
    var redraw: Bool

    func show(_ interval: IntervalReport) {
        guard enabled else { return }
        let line = interval.renderProgress()
        write(redraw ? "\r\u{1B}[K" + line : line + "\n")
    }

    func end() {
        if enabled && redraw { write("\n") }
    }

    private func write(_ text: String) {
        if toStandardError {
            FileHandle.standardError.write(Data(text.utf8))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
