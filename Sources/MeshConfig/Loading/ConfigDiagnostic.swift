/// One finding about the configuration, with enough context to find and fix it:
/// `configs/vs.yaml:14: error: VirtualService default/reviews: http[0].route[1].weight: weight -5 < 0`.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible, Error {
    public enum Severity: String, Sendable, Hashable, Comparable {
        case error, warning, info, note
        private var rank: Int {
            switch self {
            case .error: return 0
            case .warning: return 1
            case .info: return 2
            case .note: return 3
            }
        }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var severity: Severity
    public var file: String
    public var line: Int?
    /// `VirtualService default/reviews`, or nil for a file-level problem.
    public var resource: String?
    /// Path inside the resource's spec (as Istio prints it), if the problem is in one field.
    public var field: FieldPath?
    public var message: String

    public init(severity: Severity, file: String, line: Int?, resource: String? = nil, field: FieldPath? = nil, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.resource = resource
        self.field = field
        self.message = message
    }

    public var description: String {
        var out = file
        if let line { out += ":\(line)" }
        out += ": \(severity.rawValue): "
        if let resource { out += "\(resource): " }
        if let field, !field.isEmpty { out += "\(field): " }
        out += message
        return out
    }
}

extension Resource {
    /// A diagnostic about `field` (a path inside spec) of this resource.
    public func diagnostic(_ severity: ConfigDiagnostic.Severity, _ field: FieldPath, _ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(
            severity: severity, file: location.file, line: location.line(forSpecPath: field),
            resource: "\(kind.rawValue) \(qualifiedName)", field: field, message: message)
    }

    /// A diagnostic about a path from the document root (e.g. `metadata.name`).
    public func diagnostic(_ severity: ConfigDiagnostic.Severity, rootPath: FieldPath, _ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(
            severity: severity, file: location.file, line: location.line(for: rootPath),
            resource: "\(kind.rawValue) \(qualifiedName)", field: rootPath, message: message)
    }
}
