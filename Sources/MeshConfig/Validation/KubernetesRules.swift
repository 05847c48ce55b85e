/// What `istioctl validate` checks of the Kubernetes objects it is given (istioctl/pkg/validate):
/// every Service port outside the Istio namespace must say its protocol, by a name with a known
/// protocol prefix or by a known `appProtocol` (UDP ports excepted); a Deployment whose pods lack
/// Istio's canonical service labels gets a notice, not an error. The API server's own rules for
/// these kinds are not Istio's and are not checked (Istio's analyzer test data breaks them).
enum KubernetesRules {
    static let deploymentRequirementsURL = "https://istio.io/latest/docs/ops/deployment/requirements/"
    static let protocolSelectionURL = "https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/"

    /// Labels Istio reads a workload's canonical service name and revision from (any one will do).
    static let canonicalNameLabels = ["service.istio.io/canonical-name", "app.kubernetes.io/name", "app"]
    static let canonicalRevisionLabels = ["service.istio.io/canonical-revision", "app.kubernetes.io/version", "version"]

    /// istioctl names a Service in these messages as `name/namespace/:`.
    static func service(_ spec: KubeServiceSpec, name: String, namespace: String, into findings: inout ValidationFindings) {
        let quotedName = NameRules.goQuoted("\(name)/\(namespace)/:")
        for (i, port) in (spec.ports ?? []).enumerated() {
            let path: FieldPath = ["ports", .index(i)]
            if let proto = port.protocol, proto.lowercased() == "udp" { continue }
            if let appProtocol = port.appProtocol {
                if IstioProtocol(parsing: appProtocol) == nil {
                    findings.error(path / "appProtocol", "service \(quotedName) doesn't follow Istio protocol selection. This is not recommended, See \(protocolSelectionURL)")
                }
            } else if let portName = port.name {
                if !hasProtocolPrefix(portName) {
                    findings.error(path / "name", "service \(quotedName) port \(NameRules.goQuoted(portName)) does not follow the Istio naming convention. See \(deploymentRequirementsURL)")
                }
            } else {
                findings.error(path, "service \(quotedName) has an unnamed port. This is not recommended, See \(deploymentRequirementsURL)")
            }
        }
    }

    /// `http`, `grpc-web`, `tcp-db`: the part before the first `-` is a protocol Istio knows.
    static func hasProtocolPrefix(_ portName: String) -> Bool {
        let prefix = portName.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return IstioProtocol(parsing: prefix) != nil
    }

    static func deployment(_ spec: DeploymentSpec, name: String, namespace: String, into findings: inout ValidationFindings) {
        let labels = spec.podLabels
        let hasName = canonicalNameLabels.contains { labels[$0] != nil }
        let hasRevision = canonicalRevisionLabels.contains { labels[$0] != nil }
        if !hasName || !hasRevision {
            // Go's %q of a map: sorted `"key":"value"` pairs.
            let shown = labels.keys.sorted().map { "\(NameRules.goQuoted($0)):\(NameRules.goQuoted(labels[$0] ?? ""))" }.joined(separator: " ")
            findings.info(["template", "metadata", "labels"],
                          "deployment \(NameRules.goQuoted("\(name)/\(namespace):")) may not provide Istio metrics and telemetry labels: map[\(shown)]. See \(deploymentRequirementsURL)")
        }
    }
}
