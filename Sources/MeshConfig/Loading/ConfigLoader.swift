import Foundation
import Yams

/// What loading produced: the resources that decoded, and every problem found on the way.
public struct LoadResult: Sendable {
    public var resources = MeshResources()
    public var diagnostics: [ConfigDiagnostic] = []
    /// Every file read, in order (directories expanded).
    public var files: [String] = []

    public init() {}

    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    public mutating func merge(_ other: LoadResult) {
        resources.merge(other.resources)
        diagnostics += other.diagnostics
        files += other.files
    }
}

/// Reads Istio and Kubernetes YAML (or JSON) from files, directories and stdin into `MeshResources`.
public struct ConfigLoader: Sendable {
    /// The namespace of resources whose metadata names none (kubectl's default).
    public var defaultNamespace: String
    /// Deepest nesting accepted; libyaml's composer recurses, so unbounded nesting would exhaust the stack.
    public var maxNestingDepth = 512

    public init(defaultNamespace: String = "default") {
        self.defaultNamespace = defaultNamespace
    }

    /// Loads each path: a file, a directory (recursively, `*.yaml`, `*.yml`, `*.json`), or `-` for stdin.
    public func load(paths: [String]) -> LoadResult {
        var result = LoadResult()
        for path in paths {
            if path == "-" {
                let data = FileDescriptorReader.readToEnd(FileHandle.standardInput)
                result.merge(load(data: data, file: "<stdin>"))
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                result.diagnostics.append(ConfigDiagnostic(severity: .error, file: path, line: nil, message: "no such file or directory"))
                continue
            }
            let files = isDirectory.boolValue ? Self.configFiles(under: path) : [path]
            if isDirectory.boolValue && files.isEmpty {
                result.diagnostics.append(ConfigDiagnostic(severity: .warning, file: path, line: nil, message: "directory holds no .yaml, .yml or .json files"))
            }
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    result.diagnostics.append(ConfigDiagnostic(severity: .error, file: file, line: nil, message: "cannot read file"))
                    continue
                }
                result.merge(load(data: data, file: file))
            }
        }
        return result
    }

    /// Config files below a directory, sorted so that loading order (and so rule order) is stable.
    public static func configFiles(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let lower = relative.lowercased()
            guard lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") || lower.hasSuffix(".json") else { continue }
            let full = directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(full)
            }
        }
        return files.sorted()
    }

    public func load(data: Data, file: String) -> LoadResult {
        guard let text = String(data: data, encoding: .utf8) else {
            var result = LoadResult()
            result.files = [file]
            result.diagnostics.append(ConfigDiagnostic(severity: .error, file: file, line: nil, message: "not UTF-8 text"))
            return result
        }
        return load(text: text, file: file)
    }

    /// Loads every document of one YAML (or JSON) text.
    public func load(text: String, file: String) -> LoadResult {
        var result = LoadResult()
        result.files = [file]
        if let (depth, line) = Self.nestingDepthExceeding(maxNestingDepth, in: text) {
            result.diagnostics.append(ConfigDiagnostic(severity: .error, file: file, line: line, message: "nesting deeper than \(maxNestingDepth) levels (\(depth)); refusing to parse"))
            return result
        }
        var documents: [Node] = []
        var text = text
        var quotedScalars = 0
        while true {
            do {
                documents = []
                var sequence = try Yams.compose_all(yaml: text)
                while let node = sequence.next() { documents.append(node) }
                if let error = sequence.error { throw error }
                break
            } catch {
                if quotedScalars < Self.maxQuotedFlowScalars, let quoted = Self.quotingFlowScalar(after: error, in: text) {
                    text = quoted
                    quotedScalars += 1
                    continue
                }
                result.diagnostics.append(Self.yamlDiagnostic(error, file: file))
                return result
            }
        }
        var decoded = MeshResources()
        var diagnostics: [ConfigDiagnostic] = []
        for document in documents {
            decode(document: document, file: file, into: &decoded, diagnostics: &diagnostics)
        }
        result.resources = decoded
        result.diagnostics = diagnostics
        return result
    }

    static let maxQuotedFlowScalars = 256

    /// libyaml refuses a `:` followed by a flow indicator inside a plain scalar in flow context
    /// (`addresses: [1.2.3.4, 001:db8::]`); Go's YAML reader, which kubectl and istioctl use, reads
    /// `001:db8::` as one string there (a flow scalar ends only at `,?[]{}` or at `: `). Given such
    /// an error, returns `text` with that scalar single-quoted, lines unchanged; nil for any other error.
    static func quotingFlowScalar(after error: Error, in text: String) -> String? {
        guard let yaml = error as? YamlError, case .scanner(let context?, let problem, _, _) = yaml,
            problem == "found unexpected ':'", context.text == "while scanning a plain scalar"
        else { return nil }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard context.mark.line >= 1, context.mark.line <= lines.count else { return nil }
        let line = Array(lines[context.mark.line - 1].unicodeScalars)
        let start = context.mark.column - 1
        guard start >= 0, start < line.count else { return nil }
        let terminators: Set<Unicode.Scalar> = [",", "?", "[", "]", "{", "}"]
        func isBlank(_ i: Int) -> Bool { i >= line.count || line[i] == " " || line[i] == "\t" || line[i] == "\r" }
        var end = start, i = start
        while i < line.count {
            let c = line[i]
            if terminators.contains(c) || (c == ":" && isBlank(i + 1)) { break }
            if c == "#" && i > start && isBlank(i - 1) { break }
            i += 1
            if !isBlank(i - 1) { end = i }
        }
        guard end > start else { return nil }
        var scalar = String.UnicodeScalarView()
        scalar.append(contentsOf: line[start..<end])
        let quoted = "'" + String(scalar).replacingOccurrences(of: "'", with: "''") + "'"
        var rebuilt = String.UnicodeScalarView()
        rebuilt.append(contentsOf: line[..<start])
        rebuilt.append(contentsOf: quoted.unicodeScalars)
        rebuilt.append(contentsOf: line[end...])
        lines[context.mark.line - 1] = String(rebuilt)
        return lines.joined(separator: "\n")
    }

    /// A YAML syntax error as a diagnostic with the line libyaml reported.
    public static func yamlDiagnostic(_ error: Error, file: String) -> ConfigDiagnostic {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
                let detail = context.map { "\($0.text) " } ?? ""
                return ConfigDiagnostic(severity: .error, file: file, line: mark.line, message: "invalid YAML: \(detail)\(problem) (column \(mark.column))")
            case .reader(let problem, _, _, _):
                return ConfigDiagnostic(severity: .error, file: file, line: nil, message: "invalid YAML: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                // Yams's own text repeats the whole document; the line and the keys say it all.
                let keys = duplicates.sorted().map { NameRules.goQuoted($0) }.joined(separator: ", ")
                return ConfigDiagnostic(severity: .error, file: file, line: context.mark.line, message: "invalid YAML: key \(keys) already set in map (column \(context.mark.column))")
            default:
                break
            }
        }
        return ConfigDiagnostic(severity: .error, file: file, line: nil, message: "invalid YAML: \(error)")
    }

    private func decode(document: Node, file: String, into resources: inout MeshResources, diagnostics: inout [ConfigDiagnostic]) {
        let line = document.mark?.line ?? 1
        if case .scalar(let s) = document, isNull(s) { return }  // an empty document (`---` at the end)
        guard case .mapping(let mapping) = document else {
            diagnostics.append(ConfigDiagnostic(severity: .error, file: file, line: line, message: "a document must be a mapping with apiVersion and kind"))
            return
        }
        guard let kindText = mapping["kind"]?.string else {
            diagnostics.append(ConfigDiagnostic(severity: .error, file: file, line: line, message: "document has no kind"))
            return
        }
        // `kubectl get -o yaml` of several objects gives a List.
        if kindText == "List" || kindText.hasSuffix("List") && mapping["apiVersion"]?.string == "v1" {
            guard case .sequence(let items)? = mapping["items"] else { return }
            for item in items { decode(document: item, file: file, into: &resources, diagnostics: &diagnostics) }
            return
        }
        let apiVersion: String
        if let written = mapping["apiVersion"]?.string {
            apiVersion = written
        } else if let kind = ResourceKind(rawValue: kindText) {
            // istioctl validate goes by the kind alone when apiVersion is missing; so does meshsim,
            // but says so, since kubectl would refuse the document.
            apiVersion = kind.apiVersions[0]
            diagnostics.append(ConfigDiagnostic(severity: .warning, file: file, line: line, message: "document has no apiVersion; read as \(apiVersion) \(kindText)"))
        } else {
            // Not a kind meshsim reads, like any other (istioctl passes over it too).
            let name = mapping["metadata"]?.mapping?["name"]?.string ?? "?"
            diagnostics.append(ConfigDiagnostic(severity: .note, file: file, line: line, message: "skipped \(kindText) \(name) (no apiVersion): not a kind meshsim reads"))
            return
        }
        guard let kind = ResourceKind(rawValue: kindText), kind.apiVersions.contains(apiVersion) else {
            let name = mapping["metadata"]?.mapping?["name"]?.string ?? "?"
            diagnostics.append(ConfigDiagnostic(severity: .note, file: file, line: line, message: "skipped \(kindText) \(name) (\(apiVersion)): not a kind meshsim reads"))
            return
        }

        let location = SourceLocation(file: file, line: line, fieldLines: Self.fieldLines(of: document))
        let decoder = NodeDecoder()
        var metadata = ObjectMeta()
        if let metaNode = mapping["metadata"] {
            do {
                metadata = try decoder.decode(ObjectMeta.self, from: metaNode, at: ["metadata"])
            } catch {
                diagnostics.append(failureDiagnostic(error, kind: kind, name: "?", file: file, line: line))
                return
            }
        }
        if metadata.namespace == nil || metadata.namespace == "" { metadata.namespace = defaultNamespace }
        let resourceName = "\(kind.rawValue) \(metadata.namespace ?? defaultNamespace)/\(metadata.name ?? "?")"
        guard let name = metadata.name, !name.isEmpty else {
            diagnostics.append(ConfigDiagnostic(severity: .error, file: file, line: location.line(for: ["metadata"]), resource: resourceName, field: ["metadata", .key("name")], message: "metadata.name is required"))
            return
        }
        _ = name
        if kind.isIstio {
            for (keyNode, _) in mapping {
                let key = keyNode.string ?? ""
                if !["apiVersion", "kind", "metadata", "spec", "status"].contains(key) {
                    diagnostics.append(ConfigDiagnostic(severity: .error, file: file, line: keyNode.mark?.line ?? line, resource: resourceName, field: [.key(key)], message: "unknown field \"\(key)\""))
                    return
                }
            }
        }
        // `spec:` left empty (null) is an empty spec, as Kubernetes and istioctl read it.
        var specNode = mapping["spec"] ?? Node.mapping(Node.Mapping([]))
        if case .scalar(let scalar) = specNode, isNull(scalar) { specNode = Node.mapping(Node.Mapping([])) }

        func decodeSpec<Spec: Decodable & Sendable & Hashable>(_ type: Spec.Type) -> Resource<Spec>? {
            do {
                let spec = try decoder.decode(Spec.self, from: specNode, at: ["spec"])
                return Resource(kind: kind, apiVersion: apiVersion, metadata: metadata, spec: spec, location: location)
            } catch {
                diagnostics.append(failureDiagnostic(error, kind: kind, name: resourceName, file: file, line: line))
                return nil
            }
        }

        switch kind {
        case .virtualService: decodeSpec(VirtualServiceSpec.self).map { resources.virtualServices.append($0) }
        case .destinationRule: decodeSpec(DestinationRuleSpec.self).map { resources.destinationRules.append($0) }
        case .serviceEntry: decodeSpec(ServiceEntrySpec.self).map { resources.serviceEntries.append($0) }
        case .workloadEntry: decodeSpec(WorkloadEntrySpec.self).map { resources.workloadEntries.append($0) }
        case .service: decodeSpec(KubeServiceSpec.self).map { resources.services.append($0) }
        case .deployment: decodeSpec(DeploymentSpec.self).map { resources.deployments.append($0) }
        case .namespace: decodeSpec(NamespaceSpec.self).map { resources.namespaces.append($0) }
        }
    }

    private func failureDiagnostic(_ error: Error, kind: ResourceKind, name: String, file: String, line: Int) -> ConfigDiagnostic {
        guard let failure = error as? DecodeFailure else {
            return ConfigDiagnostic(severity: .error, file: file, line: line, resource: name, message: "\(error)")
        }
        // Istio prints spec fields relative to spec; keep metadata paths whole.
        var path = failure.path
        if path.components.first == .key("spec") { path.components.removeFirst() }
        return ConfigDiagnostic(severity: .error, file: file, line: failure.line ?? line, resource: name, field: path, message: failure.message)
    }

    /// The line of every key and list element, keyed by its path from the document root.
    static func fieldLines(of root: Node) -> [FieldPath: Int] {
        var lines: [FieldPath: Int] = [:]
        var budget = 200_000
        func walk(_ node: Node, _ path: [PathComponent]) {
            budget -= 1
            guard budget > 0 else { return }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    guard let name = key.string else { continue }
                    let childPath = path + [.key(name)]
                    if let line = key.mark?.line { lines[FieldPath(childPath)] = line }
                    walk(value, childPath)
                }
            case .sequence(let sequence):
                for (i, element) in sequence.enumerated() {
                    let childPath = path + [.index(i)]
                    if let line = element.mark?.line { lines[FieldPath(childPath)] = line }
                    walk(element, childPath)
                }
            case .scalar, .alias:
                break
            }
        }
        walk(root, [])
        return lines
    }

    /// A cheap upper bound on nesting: flow brackets open at once, plus block indentation
    /// (counting `- ` sequence markers at a line's start as indentation). Returns (depth, line)
    /// when over `limit`.
    static func nestingDepthExceeding(_ limit: Int, in text: String) -> (Int, Int)? {
        var flowDepth = 0
        var line = 1
        var atLineStart = true
        var indentation = 0
        var quote: UInt8? = nil
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n") {
                line += 1
                atLineStart = true
                indentation = 0
                if quote == UInt8(ascii: "'") { quote = nil }
                continue
            }
            if let q = quote {
                if byte == q { quote = nil }
                continue
            }
            if atLineStart {
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-") { indentation += 1; continue }
                atLineStart = false
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
            case UInt8(ascii: "["), UInt8(ascii: "{"): flowDepth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"): flowDepth = max(0, flowDepth - 1)
            default: break
            }
            let depth = flowDepth + indentation / 2
            if depth > limit { return (depth, line) }
        }
        return nil
    }
}
