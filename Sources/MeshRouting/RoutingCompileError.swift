import MeshConfig

/// A configuration that cannot be compiled into a routing table (a regex RE2 rejects, a route
/// with no action, weights that sum to zero…). Each diagnostic names the file and line.
public struct RoutingCompileError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [ConfigDiagnostic]

    public init(diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
