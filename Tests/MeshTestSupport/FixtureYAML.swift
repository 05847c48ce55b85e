/// Istio and Kubernetes resources as YAML for test fixtures, so that a fixture spells out only
/// what its test is about. Each function returns one document without a `---` line; join them
/// with `documents(_:)`. Nested YAML passed in (`http` rules, `spec` lines) is written at column
/// 0 and indented here to where it belongs.
public enum FixtureYAML {
    /// The documents joined with `---` lines.
    public static func documents(_ parts: String...) -> String {
        parts.joined(separator: "\n---\n")
    }

    /// A Service selecting `app: <name>` with one port (`appProtocol` when given).
    public static func service(
        _ name: String, namespace: String = "default", port: Int = 9080, portName: String = "http", appProtocol: String? = nil
    ) -> String {
        let protocolField = appProtocol.map { ", appProtocol: \($0)" } ?? ""
        return lines([
            "apiVersion: v1", "kind: Service", "metadata: {name: \(name), namespace: \(namespace)}", "spec:",
            "  selector: {app: \(name)}", "  ports: [{name: \(portName), port: \(port)\(protocolField)}]",
        ])
    }

    /// A Deployment `<app>-<version>` of `replicas` pods labelled `app` and `version`, with pod
    /// `annotations` (a YAML flow mapping).
    public static func deployment(
        app: String, version: String, namespace: String = "default", replicas: Int = 1, annotations: String = "{}"
    ) -> String {
        lines([
            "apiVersion: apps/v1", "kind: Deployment", "metadata: {name: \(app)-\(version), namespace: \(namespace)}", "spec:",
            "  replicas: \(replicas)", "  selector: {matchLabels: {app: \(app), version: \(version)}}", "  template:", "    metadata:",
            "      labels: {app: \(app), version: \(version)}", "      annotations: \(annotations)",
        ])
    }

    /// A ServiceEntry for `host` with one port, resolution STATIC, and `endpoints` (YAML flow
    /// mappings, e.g. `{address: 127.0.0.1, labels: {version: v1}}`).
    public static func serviceEntry(
        _ name: String, namespace: String = "default", host: String, port: Int, portName: String = "http", protocol: String = "HTTP",
        endpoints: [String] = ["{address: 127.0.0.1}"]
    ) -> String {
        lines(
            [
                "apiVersion: networking.istio.io/v1", "kind: ServiceEntry", "metadata: {name: \(name), namespace: \(namespace)}", "spec:",
                "  hosts: [\(host)]", "  ports: [{number: \(port), name: \(portName), protocol: \(`protocol`)}]", "  resolution: STATIC",
                "  endpoints:",
            ] + endpoints.map { "  - \($0)" })
    }

    /// A DestinationRule for `host` (default: `name`) with one subset per version, each selecting
    /// `version: <version>`, then `spec` (more fields of the spec, e.g. a `trafficPolicy`).
    public static func destinationRule(
        _ name: String, namespace: String = "default", host: String? = nil, versions: [String] = [], spec: String = ""
    ) -> String {
        var fields: [String?] = [
            "apiVersion: networking.istio.io/v1", "kind: DestinationRule", "metadata: {name: \(name), namespace: \(namespace)}", "spec:",
            "  host: \(host ?? name)",
        ]
        if !versions.isEmpty {
            fields.append("  subsets:")
            fields += versions.map { "  - {name: \($0), labels: {version: \($0)}}" }
        }
        fields.append(spec.isEmpty ? nil : indented(spec, by: 2))
        return lines(fields)
    }

    /// A VirtualService for `hosts` (default: `[name]`; none written when empty), with `spec`
    /// (more fields of the spec: gateways, exportTo) and the `http` list `http`: its items,
    /// `- route: …` at column 0.
    public static func virtualService(
        _ name: String, namespace: String = "default", hosts: [String]? = nil, spec: String = "", http: String
    ) -> String {
        let hosts = hosts ?? [name]
        return lines([
            "apiVersion: networking.istio.io/v1", "kind: VirtualService", "metadata: {name: \(name), namespace: \(namespace)}", "spec:",
            hosts.isEmpty ? nil : "  hosts: [\(hosts.joined(separator: ", "))]", spec.isEmpty ? nil : indented(spec, by: 2), "  http:",
            indented(http, by: 2),
        ])
    }

    /// One `http` rule (at column 0) routing to each of `hosts`, in equal weights. A host that
    /// does not start with a letter or digit (`*.example.com`) is quoted, as YAML needs.
    public static func route(to hosts: String...) -> String {
        let quoted = hosts.map { host in host.first.map { $0.isLetter || $0.isNumber } == true ? host : "\"\(host)\"" }
        return (["- route:"] + quoted.map { "  - destination: {host: \($0)}" }).joined(separator: "\n")
    }

    /// Every line of `text` moved right by `count` spaces (empty lines stay empty).
    public static func indented(_ text: String, by count: Int) -> String {
        let pad = String(repeating: " ", count: count)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n")
    }

    private static func lines(_ lines: [String?]) -> String {
        lines.compactMap { $0 }.joined(separator: "\n")
    }
}
