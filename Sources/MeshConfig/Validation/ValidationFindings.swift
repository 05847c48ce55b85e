/// What validating one resource found: Istio's errors (the webhook rejects the resource) and
/// warnings (accepted, but probably not what was meant), each at a spec-relative field path.
struct ValidationFindings: Sendable, Hashable {
    struct Finding: Sendable, Hashable, CustomStringConvertible {
        var severity: ConfigDiagnostic.Severity
        var path: FieldPath
        var message: String

        var description: String {
            path.isEmpty ? "\(severity.rawValue): \(message)" : "\(severity.rawValue): \(path): \(message)"
        }
    }

    private(set) var items: [Finding] = []

    init() {}

    mutating func error(_ path: FieldPath, _ message: String) {
        items.append(Finding(severity: .error, path: path, message: message))
    }

    mutating func warning(_ path: FieldPath, _ message: String) {
        items.append(Finding(severity: .warning, path: path, message: message))
    }

    /// A notice that neither rejects nor warns (istioctl prints it and still calls the input valid).
    mutating func info(_ path: FieldPath, _ message: String) {
        items.append(Finding(severity: .info, path: path, message: message))
    }

    var errors: [Finding] { items.filter { $0.severity == .error } }
    var warnings: [Finding] { items.filter { $0.severity == .warning } }
    var hasErrors: Bool { items.contains { $0.severity == .error } }
    var hasWarnings: Bool { items.contains { $0.severity == .warning } }
    var messages: [String] { items.map(\.message) }
}

extension ValidationFindings {
    /// Records `message` as an error at `path` when there is one (the shape of Istio's `error` returns).
    mutating func add(_ message: String?, at path: FieldPath) {
        if let message { error(path, message) }
    }

    mutating func add(_ messages: [String], at path: FieldPath) {
        for message in messages { error(path, message) }
    }

    /// Takes `other`'s errors and drops its warnings, where Istio combines results that way.
    mutating func mergeErrors(of other: ValidationFindings) {
        items += other.errors
    }
}
