import Testing

@testable import MeshConfig

/// One ported Istio test case: a name (Istio's, where it has one), the input as flow-style YAML,
/// and Istio's verdict.
struct RuleCase: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var valid: Bool
    /// nil when Istio's test does not check warnings.
    var warning: Bool?

    init(_ name: String, _ yaml: String, valid: Bool, warning: Bool? = nil) {
        self.name = name
        self.yaml = yaml
        self.valid = valid
        self.warning = warning
    }

    var testDescription: String { name }
}

/// Errors from decoding a test's YAML: a test input that does not decode is a broken test.
struct TestInputError: Error, CustomStringConvertible {
    var description: String
}

enum Fixture {
    static func load(_ text: String) throws -> MeshResources {
        let result = ConfigLoader().load(text: text, file: "test.yaml")
        if result.hasErrors { throw TestInputError(description: result.errors.map(\.description).joined(separator: "\n")) }
        return result.resources
    }

    /// A VirtualService whose spec is `spec` (block or flow YAML, indented under `spec:`).
    static func virtualService(spec: String, name: String = "vs", namespace: String = "default", annotations: String = "{}") throws -> VirtualService {
        let resources = try load("""
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: \(name), namespace: \(namespace), annotations: \(annotations)}
            spec: \(spec)
            """)
        guard let vs = resources.virtualServices.first else { throw TestInputError(description: "no VirtualService decoded") }
        return vs
    }

    static func destinationRule(spec: String, namespace: String = "default") throws -> DestinationRule {
        let resources = try load("""
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: dr, namespace: \(namespace)}
            spec: \(spec)
            """)
        guard let dr = resources.destinationRules.first else { throw TestInputError(description: "no DestinationRule decoded") }
        return dr
    }

    static func serviceEntry(spec: String, labels: String = "{}", namespace: String = "default") throws -> ServiceEntry {
        let resources = try load("""
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: se, namespace: \(namespace), labels: \(labels)}
            spec: \(spec)
            """)
        guard let se = resources.serviceEntries.first else { throw TestInputError(description: "no ServiceEntry decoded") }
        return se
    }

    static func workloadEntry(spec: String) throws -> WorkloadEntry {
        let resources = try load("""
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: we}
            spec: \(spec)
            """)
        guard let we = resources.workloadEntries.first else { throw TestInputError(description: "no WorkloadEntry decoded") }
        return we
    }

    /// One HTTP route, from a flow mapping such as `{route: [{destination: {host: a}}]}`.
    static func httpRoute(_ flow: String) throws -> HTTPRoute {
        let vs = try virtualService(spec: "{hosts: [foo.bar], http: [\(flow)]}")
        guard let route = vs.spec.http?.first else { throw TestInputError(description: "no http route decoded") }
        return route
    }

    static func trafficPolicy(_ flow: String) throws -> TrafficPolicy {
        let dr = try destinationRule(spec: "{host: reviews, trafficPolicy: \(flow)}")
        guard let policy = dr.spec.trafficPolicy else { throw TestInputError(description: "no trafficPolicy decoded") }
        return policy
    }

    /// Runs one rule function on fresh findings.
    static func findings(_ rule: (inout ValidationFindings) -> Void) -> ValidationFindings {
        var findings = ValidationFindings()
        rule(&findings)
        return findings
    }
}

/// Checks a verdict the way Istio's tests do: valid means no error; `warning`, when given, means
/// at least one warning.
func expectVerdict(_ findings: ValidationFindings, _ testCase: RuleCase, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(findings.hasErrors == !testCase.valid, "\(testCase.name): \(findings.items)", sourceLocation: sourceLocation)
    if let warning = testCase.warning {
        #expect(findings.hasWarnings == warning, "\(testCase.name): \(findings.items)", sourceLocation: sourceLocation)
    }
}

/// The same for a resource's diagnostics.
func expectVerdict(_ diagnostics: [ConfigDiagnostic], _ testCase: RuleCase, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    let hasErrors = diagnostics.contains { $0.severity == .error }
    let hasWarnings = diagnostics.contains { $0.severity == .warning }
    #expect(hasErrors == !testCase.valid, "\(testCase.name): \(diagnostics.map(\.description))", sourceLocation: sourceLocation)
    if let warning = testCase.warning {
        #expect(hasWarnings == warning, "\(testCase.name): \(diagnostics.map(\.description))", sourceLocation: sourceLocation)
    }
}
