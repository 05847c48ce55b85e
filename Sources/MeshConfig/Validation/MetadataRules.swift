/// The object metadata rules: the API server's name, namespace and label syntax, and the
/// annotations Istio's webhook refuses on networking resources.
enum MetadataRules {
    struct Problem {
        var path: FieldPath
        var message: String
        /// Istio rejects the resource without looking at its spec.
        var stopsValidation = false
    }

    static let subdomainHelp = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    static let labelHelp = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

    static func problems(_ metadata: ObjectMeta) -> [Problem] {
        var problems: [Problem] = []
        if let name = metadata.name, !NameRules.isKubernetesDNS1123Subdomain(name) {
            let help = name.utf8.count > 253 ? "must be no more than 253 characters" : subdomainHelp
            problems.append(Problem(path: ["metadata", "name"], message: "Invalid value: \(NameRules.goQuoted(name)): \(help)"))
        }
        if let namespace = metadata.namespace, !NameRules.isKubernetesDNS1123Label(namespace) {
            let help = namespace.utf8.count > 63 ? "must be no more than 63 characters" : labelHelp
            problems.append(Problem(path: ["metadata", "namespace"], message: "Invalid value: \(NameRules.goQuoted(namespace)): \(help)"))
        }
        let labels = metadata.labels ?? [:]
        for key in labels.keys.sorted() {
            let path: FieldPath = ["metadata", "labels", .key(key)]
            if let problem = kubernetesLabelKeyProblem(key) { problems.append(Problem(path: path, message: problem)) }
            if let problem = kubernetesLabelValueProblem(labels[key] ?? "") { problems.append(Problem(path: path, message: problem)) }
        }
        let annotations = metadata.annotations ?? [:]
        let qualifiedName = "\(metadata.namespace ?? "default")/\(metadata.name ?? "")"
        if annotations["istio.io/dry-run"] != nil {
            // Only AuthorizationPolicy supports dry-run; meshsim reads no AuthorizationPolicy.
            problems.append(Problem(path: ["metadata", "annotations", "istio.io/dry-run"],
                                    message: "\(qualifiedName) has unsupported annotation istio.io/dry-run, please remove the annotation", stopsValidation: true))
        } else if annotations["internal.istio.io/webhook-always-reject"] != nil {
            problems.append(Problem(path: ["metadata", "annotations"], message: "\"internal.istio.io/webhook-always-reject\" annotation found, rejecting", stopsValidation: true))
        } else if let internalAnnotation = ["internal.istio.io/parent-namespace", "internal.istio.io/parents"].first(where: { annotations[$0] != nil }) {
            problems.append(Problem(path: ["metadata", "annotations", .key(internalAnnotation)],
                                    message: "\(NameRules.goQuoted(internalAnnotation)) annotation found, this may not be set by users", stopsValidation: true))
        }
        return problems
    }

    /// Kubernetes label keys: `[prefix/]name`, prefix a lowercase DNS subdomain, name at most 63.
    static func kubernetesLabelKeyProblem(_ key: String) -> String? {
        let pieces = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard pieces.count <= 2 else {
            return "Invalid value: \(NameRules.goQuoted(key)): a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        }
        let name = pieces[pieces.count - 1]
        if pieces.count == 2 {
            if pieces[0].isEmpty { return "Invalid value: \(NameRules.goQuoted(key)): prefix part must be non-empty" }
            if !NameRules.isKubernetesDNS1123Subdomain(pieces[0]) { return "Invalid value: \(NameRules.goQuoted(key)): prefix part \(subdomainHelp)" }
        }
        if name.isEmpty { return "Invalid value: \(NameRules.goQuoted(key)): name part must be non-empty" }
        if name.utf8.count > 63 { return "Invalid value: \(NameRules.goQuoted(key)): name part must be no more than 63 characters" }
        if !NameRules.isQualifiedName(name) {
            return "Invalid value: \(NameRules.goQuoted(key)): name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        }
        return nil
    }

    static func kubernetesLabelValueProblem(_ value: String) -> String? {
        if value.utf8.count > 63 { return "Invalid value: \(NameRules.goQuoted(value)): must be no more than 63 characters" }
        if !NameRules.isLabelValue(value) {
            return "Invalid value: \(NameRules.goQuoted(value)): a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        }
        return nil
    }
}
