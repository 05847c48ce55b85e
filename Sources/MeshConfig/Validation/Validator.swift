/// Istio's per-resource validation: what `istioctl validate`, the Istio validation webhook and
/// the CRD schema reject (errors) or accept with a warning, for every VirtualService,
/// DestinationRule, ServiceEntry and WorkloadEntry. Each resource is judged on its own;
/// cross-resource findings (a subset no DestinationRule defines, …) are analysis, not validation.
public struct Validator: Sendable {
    /// Whether metadata takes part: the API server's name and label rules, the annotations Istio's
    /// webhook refuses, and the labels and annotations some spec rules read. istioctl analyze's
    /// schema analyzer validates each spec with its name and namespace only, so analysis turns it off.
    public var includesMetadata: Bool

    public init(includesMetadata: Bool = true) {
        self.includesMetadata = includesMetadata
    }

    /// Every diagnostic for every Istio resource, ordered by file and line.
    public func validate(_ resources: MeshResources) -> [ConfigDiagnostic] {
        var diagnostics: [ConfigDiagnostic] = []
        for resource in resources.virtualServices { diagnostics += validate(resource) }
        for resource in resources.destinationRules { diagnostics += validate(resource) }
        for resource in resources.serviceEntries { diagnostics += validate(resource) }
        for resource in resources.workloadEntries { diagnostics += validate(resource) }
        return diagnostics.sortedByLocation()
    }

    public func validate(_ resource: VirtualService) -> [ConfigDiagnostic] {
        check(resource) { findings in
            VirtualServiceRules.validate(resource.spec, namespace: resource.namespace, annotations: includesMetadata ? resource.annotations : [:], into: &findings)
        }
    }

    public func validate(_ resource: DestinationRule) -> [ConfigDiagnostic] {
        check(resource) { findings in
            DestinationRuleRules.validate(resource.spec, namespace: resource.namespace, into: &findings)
        }
    }

    public func validate(_ resource: ServiceEntry) -> [ConfigDiagnostic] {
        check(resource) { findings in
            ServiceEntryRules.validate(resource.spec, namespace: resource.namespace, labels: includesMetadata ? resource.labels : [:], into: &findings)
        }
    }

    public func validate(_ resource: WorkloadEntry) -> [ConfigDiagnostic] {
        check(resource) { findings in
            WorkloadEntryRules.schemaLimits(resource.spec, at: .root, into: &findings)
            WorkloadEntryRules.validate(resource.spec, servicePorts: nil, allowFQDNAddresses: true, at: .root, into: &findings)
        }
    }

    /// What `istioctl validate` adds for the Kubernetes objects among the resources: Service port
    /// naming (errors) and Deployment telemetry labels (infos), skipping objects in
    /// `istioNamespace`. Kept apart from `validate(_:)`, which decides whether a configuration may
    /// be served: a Service with an unnamed port still serves (as plain TCP), in Istio too.
    public func validateKubernetesObjects(_ resources: MeshResources, istioNamespace: String = "istio-system") -> [ConfigDiagnostic] {
        var diagnostics: [ConfigDiagnostic] = []
        for service in resources.services where service.namespace != istioNamespace {
            var findings = ValidationFindings()
            KubernetesRules.service(service.spec, name: service.name, namespace: service.namespace, into: &findings)
            diagnostics += findings.items.map { service.diagnostic($0.severity, $0.path, $0.message) }
        }
        for deployment in resources.deployments where deployment.namespace != istioNamespace {
            var findings = ValidationFindings()
            KubernetesRules.deployment(deployment.spec, name: deployment.name, namespace: deployment.namespace, into: &findings)
            diagnostics += findings.items.map { deployment.diagnostic($0.severity, $0.path, $0.message) }
        }
        return diagnostics.sortedByLocation()
    }

    /// Metadata first (a rejected annotation stops validation, as in Istio), then the spec.
    private func check<Spec>(_ resource: Resource<Spec>, spec validateSpec: (inout ValidationFindings) -> Void) -> [ConfigDiagnostic] {
        let metadata = includesMetadata ? MetadataRules.problems(resource.metadata) : []
        var diagnostics = metadata.map { resource.diagnostic(.error, rootPath: $0.path, $0.message) }
        if metadata.contains(where: \.stopsValidation) { return diagnostics }
        var findings = ValidationFindings()
        validateSpec(&findings)
        diagnostics += findings.items.map { resource.diagnostic($0.severity, $0.path, $0.message) }
        return diagnostics
    }
}

extension Array where Element == ConfigDiagnostic {
    /// By file, then line (file-level diagnostics first); diagnostics on one line keep their order.
    public func sortedByLocation() -> [ConfigDiagnostic] {
        enumerated().sorted { a, b in
            if a.element.file != b.element.file { return a.element.file < b.element.file }
            let lineA = a.element.line ?? 0, lineB = b.element.line ?? 0
            return lineA != lineB ? lineA < lineB : a.offset < b.offset
        }.map(\.element)
    }
}
