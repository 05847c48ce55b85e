import ArgumentParser
import Foundation
import MeshConfig

/// `meshsim analyze`: `istioctl analyze --use-kube=false` for meshsim's files. Prints load
/// problems (stderr), then validation findings, then cross-resource analysis, in istioctl's form.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyze Istio configuration and print validation messages, as istioctl analyze does.",
        discussion: """
            Reads every file given (directories recursively), validates each resource and analyzes \
            them together: routes to undefined subsets, subsets that select no pods, unreachable \
            rules, unknown hosts, and more, each with Istio's code (IST0101, IST0173, …).
            Exits 1 when a file cannot be read or a message is at or above --failure-threshold.
            For more information about message codes, refer to: \(Self.analysisDocs)
            """)

    static let analysisDocs = "https://istio.io/latest/docs/reference/config/analysis"

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, log, json
    }

    /// A message level on the command line, in any case (`Error`, `warning`).
    struct LevelArgument: ExpressibleByArgument {
        var level: AnalysisMessage.Level
        init(_ level: AnalysisMessage.Level) { self.level = level }
        init?(argument: String) {
            guard let level = AnalysisMessage.Level(parsing: argument) else { return nil }
            self.level = level
        }
        var defaultValueDescription: String { level.rawValue }
        static var allValueStrings: [String] { AnalysisMessage.Level.allCases.map(\.rawValue) }
    }

    @OptionGroup var config: ConfigOptions

    @Argument(help: "Files or directories to analyze (the same as -f).")
    var paths: [String] = []

    @Option(name: [.short, .long], help: "Output format: text (istioctl's log lines) or json.")
    var output: OutputFormat = .text

    @Option(name: .long, help: "The level at which messages make the exit status 1: Error, Warning or Info.")
    var failureThreshold = LevelArgument(.error)

    @Option(name: .long, help: "The lowest level of message to print: Error, Warning or Info.")
    var outputThreshold = LevelArgument(.info)

    @Flag(name: [.customShort("L"), .long], help: "List the analyzers and the codes they report, and exit.")
    var listAnalyzers = false

    func validate() throws {
        if !listAnalyzers && config.files.isEmpty && paths.isEmpty {
            throw ValidationError("no configuration given: pass files or directories as PATH or -f PATH")
        }
    }

    func run() throws {
        if listAnalyzers {
            print(Self.analyzerList(), terminator: "")
            return
        }
        let loaded = config.load(extra: paths)
        let analysis = Analyzer().analyze(loaded.resources)
        let messages = Self.validationMessages(loaded.resources, besides: analysis) + analysis
        let shown = messages.filter { $0.level.isAtLeast(outputThreshold.level) }

        switch output {
        case .text, .log:
            if !shown.isEmpty { print(shown.map(\.description).joined(separator: "\n")) }
        case .json:
            print(try Self.json(shown))
        }

        let unreadableFiles = Set(loaded.errors.map(\.file)).count
        if shown.isEmpty {
            printError(Self.cleanLine(files: loaded.files, given: config.files + paths, unreadableFiles: unreadableFiles))
        }

        if messages.contains(where: { $0.level.isAtLeast(failureThreshold.level) }) {
            printError("Error: Analyzers found issues when analyzing \(Self.target(config.files + paths)).")
            printError("See \(Self.analysisDocs) for more information about causes and resolutions.")
            throw ExitCode(1)
        }
        if unreadableFiles > 0 {
            printError("Error: Some files couldn't be parsed.")
            throw ExitCode(1)
        }
    }

    /// Schema validation of each resource, as istioctl's schema analyzer reports it (IST0106,
    /// IST0133; the unreachable-rule warnings as IST0130/IST0131). Findings the analysis already
    /// reports word for word (the unreachable rules) are left to it, so each prints once. Like
    /// istioctl, this judges each spec with its name and namespace only: no metadata rules, and
    /// no labels or annotations for the rules that read them.
    static func validationMessages(_ resources: MeshResources, besides analysis: [AnalysisMessage]) -> [AnalysisMessage] {
        let reported = Set(analysis.map(\.description))
        let validation = Validator(includesMetadata: false).validate(resources).compactMap(AnalysisMessage.init(validation:))
        return AnalysisMessage.sortedAndDeduplicated(validation.filter { !reported.contains($0.description) })
    }

    /// istioctl's line when nothing is printed: it names the files read (`given` are the paths
    /// as typed, named instead when some could not be read).
    static func cleanLine(files: [String], given: [String], unreadableFiles: Int) -> String {
        if unreadableFiles > 0 {
            let noun = unreadableFiles == 1 ? "file" : "files"
            return "No validation issues found when analyzing \(target(given)) (but \(unreadableFiles) \(noun) could not be parsed)."
        }
        if files.count > 1 {
            return "\u{2714} No validation issues found when analyzing:\n  - " + files.joined(separator: "\n  - ")
        }
        return "\u{2714} No validation issues found when analyzing \(target(files))."
    }

    private static func target(_ paths: [String]) -> String {
        paths.isEmpty ? "no files" : paths.joined(separator: ", ")
    }

    static func json(_ messages: [AnalysisMessage]) throws -> String {
        // Foundation pretty-prints an empty array over three lines; istioctl prints `[]`.
        if messages.isEmpty { return "[]" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(messages), as: UTF8.self)
    }

    /// Like `istioctl analyze -L`: each analyzer, what it checks, and the codes it reports.
    static func analyzerList() -> String {
        var out = ""
        for analyzer in Analyzer.all.sorted(by: { $0.name < $1.name }) {
            out += "* \(analyzer.name):\n    \(analyzer.description)\n"
            out += "    reports: " + analyzer.reports.map(\.description).joined(separator: ", ") + "\n"
        }
        return out
    }
}
