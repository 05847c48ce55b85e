/// One finding of `meshsim analyze`, in the shape of an `istioctl analyze` message: an Istio
/// code and level, the resource it is about, where in which file, and Istio's wording.
///
/// `description` prints it as istioctl does:
/// `Error [IST0101] (VirtualService default/reviews configs/vs.yaml:12) Referenced host+subset in destinationrule not found: "reviews+v3"`
public struct AnalysisMessage: Sendable, Hashable, CustomStringConvertible {
    /// Istio's message levels, worst first.
    public enum Level: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
        case error = "Error"
        case warning = "Warning"
        case info = "Info"

        /// Parses `Error`, `warning`, `INFO` (istioctl accepts any case).
        public init?(parsing text: String) {
            guard let level = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
            self = level
        }

        /// Istio's sort order: Error < Warning < Info.
        private var rank: Int {
            switch self {
            case .error: return 0
            case .warning: return 1
            case .info: return 2
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }

        /// Whether this level is as bad as `threshold` or worse (istioctl's `IsWorseThanOrEqualTo`).
        public func isAtLeast(_ threshold: Level) -> Bool { rank <= threshold.rank }

        public var description: String { rawValue }
    }

    public var type: AnalysisMessageType
    /// The resource's kind as Kubernetes spells it (`VirtualService`, `Namespace`).
    public var resourceKind: String
    /// Nil for cluster-scoped resources (Namespace), which istioctl prints without one.
    public var resourceNamespace: String?
    public var resourceName: String
    public var file: String
    public var line: Int?
    /// The field at fault: inside `spec` as Istio prints paths (`http[0].route[1].destination.subset`),
    /// or from the document root for metadata (`metadata.name`). Nil when the whole resource is meant.
    public var field: FieldPath?
    /// The text, in Istio's wording (its message template filled in).
    public var message: String

    public init(type: AnalysisMessageType, resourceKind: String, resourceNamespace: String?, resourceName: String, file: String, line: Int?, field: FieldPath?, message: String) {
        self.type = type
        self.resourceKind = resourceKind
        self.resourceNamespace = resourceNamespace
        self.resourceName = resourceName
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var code: String { type.code }
    public var level: Level { type.level }

    /// `VirtualService default/reviews`, or `Namespace default` for a cluster-scoped resource;
    /// empty for a finding about a file rather than a resource.
    public var origin: String {
        if resourceKind.isEmpty { return "" }
        if let resourceNamespace { return "\(resourceKind) \(resourceNamespace)/\(resourceName)" }
        return "\(resourceKind) \(resourceName)"
    }

    /// `configs/vs.yaml:12` (istioctl's "reference"), or just the file when the line is unknown.
    public var reference: String {
        guard let line, !file.isEmpty else { return file }
        return "\(file):\(line)"
    }

    /// The page on istio.io that explains the code and how to fix it.
    public var documentationURL: String { type.documentationURL }

    public var description: String {
        let place = [origin, reference].filter { !$0.isEmpty }.joined(separator: " ")
        return "\(level) [\(code)]\(place.isEmpty ? "" : " (\(place))") \(message)"
    }
}

extension AnalysisMessage: Encodable {
    /// istioctl's JSON keys (`code`, `level`, `origin`, `reference`, `message`,
    /// `documentationUrl`), plus `field` (null when the whole resource is meant).
    private enum CodingKeys: String, CodingKey {
        case code, level, origin, reference, field, message, documentationUrl
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(level.rawValue, forKey: .level)
        try container.encode(origin, forKey: .origin)
        try container.encode(reference, forKey: .reference)
        try container.encode(field.map(\.description), forKey: .field)
        try container.encode(message, forKey: .message)
        try container.encode(documentationURL, forKey: .documentationUrl)
    }
}

extension AnalysisMessage {
    /// A validation finding as istioctl's schema analyzer reports it: errors as IST0106
    /// SchemaValidationError; the unreachable-rule warnings as IST0130/IST0131; other warnings as
    /// IST0133 SchemaWarning. Nil for infos and notes, which have no Istio code.
    public init?(validation diagnostic: ConfigDiagnostic) {
        let type: AnalysisMessageType
        let text: (String) -> String
        switch diagnostic.severity {
        case .error: (type, text) = (.schemaValidationError, IstioText.schemaValidationError)
        case .warning:
            if let unreachable = UnreachableRuleWarning.type(of: diagnostic.message) {
                (type, text) = (unreachable, UnreachableRuleWarning.analysisText)
            } else {
                (type, text) = (.schemaWarning, IstioText.schemaWarning)
            }
        case .info, .note: return nil
        }
        // The diagnostic names its resource as `Kind namespace/name` (or `Kind name`).
        var kind = "", namespace: String? = nil, name = ""
        if let resource = diagnostic.resource {
            let parts = resource.split(separator: " ", maxSplits: 1).map(String.init)
            kind = parts.first ?? ""
            let qualified = parts.count > 1 ? parts[1] : ""
            if let slash = qualified.firstIndex(of: "/"), kind != ResourceKind.namespace.rawValue {
                namespace = String(qualified[..<slash])
                name = String(qualified[qualified.index(after: slash)...])
            } else {
                name = qualified.split(separator: "/").last.map(String.init) ?? qualified
            }
        }
        let field = diagnostic.field.flatMap { $0.isEmpty ? nil : $0 }
        // Schema messages name the field in their text; IST0130/IST0131 have their own wording.
        let isSchema = type == .schemaValidationError || type == .schemaWarning
        let detail = isSchema ? field.map { "\($0): \(diagnostic.message)" } ?? diagnostic.message : diagnostic.message
        self.init(
            type: type, resourceKind: kind, resourceNamespace: namespace, resourceName: name,
            file: diagnostic.file, line: diagnostic.line, field: field, message: text(detail))
    }
}

extension AnalysisMessage {
    /// A message about `field` (a path inside `spec`) of `resource`, with that field's line.
    init<Spec>(_ type: AnalysisMessageType, _ resource: Resource<Spec>, specField field: FieldPath?, _ message: String) {
        self.init(
            type: type, resourceKind: resource.kind.rawValue, resourceNamespace: resource.kind.isClusterScoped ? nil : resource.namespace,
            resourceName: resource.name, file: resource.location.file,
            line: field.map { resource.location.line(forSpecPath: $0) } ?? resource.location.line,
            field: field, message: message)
    }

    /// A message about a path from the document root (`metadata.name`) of `resource`.
    init<Spec>(_ type: AnalysisMessageType, _ resource: Resource<Spec>, rootField field: FieldPath, _ message: String) {
        self.init(
            type: type, resourceKind: resource.kind.rawValue, resourceNamespace: resource.kind.isClusterScoped ? nil : resource.namespace,
            resourceName: resource.name, file: resource.location.file, line: resource.location.line(for: field),
            field: field, message: message)
    }

    /// Istio's order: level, code, resource (kind/name/namespace), then the printed form.
    static func istioOrder(_ a: AnalysisMessage, _ b: AnalysisMessage) -> Bool {
        if a.level != b.level { return a.level < b.level }
        if a.code != b.code { return a.code < b.code }
        let ka = a.comparator, kb = b.comparator
        if ka != kb { return ka < kb }
        return a.description < b.description
    }

    private var comparator: String { "\(resourceKind)/\(resourceName)/\(resourceNamespace ?? "")" }

    /// Sorted in Istio's order, without messages that print the same (as istioctl dedupes).
    public static func sortedAndDeduplicated(_ messages: [AnalysisMessage]) -> [AnalysisMessage] {
        var result: [AnalysisMessage] = []
        for message in messages.sorted(by: istioOrder) where result.last?.description != message.description {
            result.append(message)
        }
        return result
    }
}

extension ResourceKind {
    /// Kinds without a namespace in Kubernetes; the loader still fills one in, istioctl prints none.
    var isClusterScoped: Bool { self == .namespace }
}
