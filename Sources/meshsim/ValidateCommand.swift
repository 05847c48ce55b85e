import ArgumentParser
import Foundation
import MeshConfig

/// `meshsim validate`: Istio's per-resource validation of every VirtualService, DestinationRule,
/// ServiceEntry and WorkloadEntry in the given files, plus what `istioctl validate` checks of
/// Kubernetes Services (port naming) and Deployments (telemetry labels), with file:line for each.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate Istio resources the way Istio's webhook does.",
        discussion: """
            Prints every load error and every validation error or warning as file:line, then a \
            summary. Exits 1 if there is any error, 0 otherwise. Like istioctl validate, a Service \
            port outside the Istio namespace must name its protocol (http, grpc-web, tcp-db, …) or \
            set a known appProtocol. Cross-resource checks (missing subsets, unknown hosts) belong \
            to `meshsim analyze`.
            """
    )

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @OptionGroup var config: ConfigOptions

    @Argument(help: "Files, directories (recursive) or - for stdin, in addition to -f.")
    var paths: [String] = []

    @Option(name: [.short, .long], help: "Output format: text or json.")
    var output: OutputFormat = .text

    @Option(name: [.customShort("i"), .customLong("istio-namespace"), .customLong("istioNamespace")],
            help: "Istio's own namespace, whose Services and Deployments are not checked (as istioctl's -i).")
    var istioNamespace = "istio-system"

    func validate() throws {
        if config.files.isEmpty && paths.isEmpty {
            throw ValidationError("give the files or directories to validate, with -f PATH or as arguments (- reads stdin)")
        }
    }

    func run() throws {
        let loaded = ConfigLoader(defaultNamespace: config.namespace).load(paths: config.files + paths)
        let validator = Validator()
        let diagnostics = (loaded.diagnostics + validator.validate(loaded.resources)
            + validator.validateKubernetesObjects(loaded.resources, istioNamespace: istioNamespace)).sortedByLocation()
        switch output {
        case .text:
            for diagnostic in diagnostics { print(diagnostic.description) }
            print(Self.summary(diagnostics, resources: loaded.resources, files: loaded.files.count))
        case .json:
            print(try Self.json(diagnostics))
        }
        if diagnostics.contains(where: { $0.severity == .error }) {
            throw ExitCode(1)
        }
    }

    static func summary(_ diagnostics: [ConfigDiagnostic], resources: MeshResources, files: Int) -> String {
        let istioResources = resources.virtualServices.count + resources.destinationRules.count
            + resources.serviceEntries.count + resources.workloadEntries.count
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.filter { $0.severity == .warning }.count
        let verdict = errors == 0 ? "valid" : "invalid"
        return "\(verdict): \(plural(istioResources, "Istio resource")) in \(plural(files, "file")), \(plural(errors, "error")), \(plural(warnings, "warning"))"
    }

    static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    /// One JSON object per diagnostic, every key present (null when not known).
    struct JSONDiagnostic: Encodable {
        var diagnostic: ConfigDiagnostic

        enum CodingKeys: String, CodingKey { case severity, file, line, resource, field, message }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(diagnostic.severity.rawValue, forKey: .severity)
            try container.encode(diagnostic.file, forKey: .file)
            try container.encode(diagnostic.line, forKey: .line)
            try container.encode(diagnostic.resource, forKey: .resource)
            let field = diagnostic.field.flatMap { $0.isEmpty ? nil : $0.description }
            try container.encode(field, forKey: .field)
            try container.encode(diagnostic.message, forKey: .message)
        }
    }

    static func json(_ diagnostics: [ConfigDiagnostic]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(diagnostics.map(JSONDiagnostic.init))
        return String(decoding: data, as: UTF8.self)
    }
}
