import ArgumentParser
import MeshConfig
import MeshRouting

/// Options about the simulated client that sends the requests `route` and `test` explain.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "Namespace of the simulated client (short host names resolve in it).")
    var clientNamespace: String = "default"

    @Option(name: .long, help: "A label of the simulated client, for sourceLabels matches (key=value). Repeatable.")
    var clientLabel: [String] = []

    func routingOptions() throws -> RoutingOptions {
        var labels: [String: String] = [:]
        for item in clientLabel {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("--client-label expects key=value, got \"\(item)\"")
            }
            labels[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        return RoutingOptions(clientNamespace: clientNamespace, clientLabels: labels)
    }
}

extension ConfigOptions {
    /// Loads the files and compiles them. Load or compile errors are printed (file:line) and
    /// end the command with exit status 1.
    func loadSnapshot(options: RoutingOptions) throws -> RoutingSnapshot {
        if files.isEmpty { throw ValidationError("no configuration given: pass -f PATH (a file or directory)") }
        let result = load(printNotes: false)
        if result.hasErrors { throw ExitCode.failure }
        do {
            return try RoutingSnapshot(resources: result.resources, options: options)
        } catch let error as RoutingCompileError {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw ExitCode.failure
        }
    }
}

extension RoutingSnapshot {
    /// The authority to use when none is given: the only host the configuration routes, or nil.
    var onlyHost: String? {
        let hosts = self.hosts
        guard hosts.count == 1, let host = hosts.first, !HostName.isWildcard(host) else { return nil }
        return host
    }

    func authority(_ given: String?) throws -> String {
        if let given { return given }
        if let host = onlyHost { return host }
        let hosts = self.hosts
        throw ValidationError(
            hosts.isEmpty
                ? "the configuration routes no host; pass --authority"
                : "the configuration routes several hosts (\(hosts.joined(separator: ", "))); pass --authority")
    }
}
