/// Istio's `injection.Analyzer`, for the Namespaces given: a namespace with neither
/// `istio-injection` nor `istio.io/rev` gets no sidecars, so none of the routing applies to its
/// pods (IST0102); one with several kinds of injection label is ambiguous (IST0123). Ambient
/// namespaces (`istio.io/dataplane-mode=ambient`) need no injection.
struct InjectionAnalyzer: ResourceAnalyzer {
    let name = "injection.Analyzer"
    let description = "Checks conditions related to Istio sidecar injection"
    let reports: [AnalysisMessageType] = [.namespaceNotInjected, .namespaceMultipleInjectionLabels]

    static let injectionLabel = "istio-injection"
    static let revisionLabel = "istio.io/rev"
    static let dataplaneModeLabel = "istio.io/dataplane-mode"
    static let istioSystemNamespace = "istio-system"

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for namespace in context.resources.namespaces where namespace.name != Self.istioSystemNamespace {
            let labels = namespace.labels
            let injection = labels[Self.injectionLabel]

            var injectionLabels: [String] = []
            if let injection { injectionLabels.append("\(Self.injectionLabel)=\(injection)") }
            // A revision or dataplane mode only competes with injection that is not switched off.
            for label in [Self.revisionLabel, Self.dataplaneModeLabel] {
                if let value = labels[label], injection == nil || injection == "enabled" {
                    injectionLabels.append("\(label)=\(value)")
                }
            }
            if injectionLabels.count > 1 {
                messages.append(AnalysisMessage(
                    .namespaceMultipleInjectionLabels, namespace, rootField: ["metadata", "labels"],
                    IstioText.namespaceMultipleInjectionLabels(injectionLabels)))
            }

            if labels[Self.dataplaneModeLabel] == "ambient" { continue }
            if (injection ?? "").isEmpty && labels[Self.revisionLabel] == nil {
                messages.append(AnalysisMessage(
                    .namespaceNotInjected, namespace, rootField: ["metadata", "name"], IstioText.namespaceNotInjected(namespace.name)))
            }
        }
        return messages
    }

    /// Istio's `DeploymentInMesh`: whether a Deployment's pods get a sidecar (an `istio-proxy`
    /// container, the `sidecar.istio.io/inject` label or annotation, else the namespace label).
    static func deploymentInMesh(_ deployment: Deployment, context: AnalysisContext) -> Bool {
        let template = deployment.spec.template
        if (template?.spec?.containers ?? []).contains(where: { $0.name == "istio-proxy" && !($0.image ?? "").isEmpty }) { return true }
        let sidecarInject = "sidecar.istio.io/inject"
        if let value = template?.metadata?.labels?[sidecarInject] { return value == "true" }
        if let value = template?.metadata?.annotations?[sidecarInject] { return value == "true" }
        if let namespace = context.namespace(named: deployment.namespace) {
            return namespace.labels[injectionLabel] == "enabled"
        }
        return false
    }
}
