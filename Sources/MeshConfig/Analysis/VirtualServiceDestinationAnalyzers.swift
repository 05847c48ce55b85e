/// A destination inside a VirtualService, with where it is written.
struct AnnotatedDestination {
    enum Kind { case route, mirror }
    var kind: Kind
    var destination: Destination
    /// Path of the `destination` (or `mirror`) mapping inside spec.
    var path: FieldPath

    /// Every route destination (tcp, tls, then http, as Istio lists them).
    static func routes(of vs: VirtualService) -> [AnnotatedDestination] {
        var out: [AnnotatedDestination] = []
        for (i, rule) in (vs.spec.tcp ?? []).enumerated() {
            for (j, rd) in (rule.route ?? []).enumerated() {
                out.append(.init(kind: .route, destination: rd.destination ?? Destination(), path: ["tcp", .index(i), "route", .index(j), "destination"]))
            }
        }
        for (i, rule) in (vs.spec.tls ?? []).enumerated() {
            for (j, rd) in (rule.route ?? []).enumerated() {
                out.append(.init(kind: .route, destination: rd.destination ?? Destination(), path: ["tls", .index(i), "route", .index(j), "destination"]))
            }
        }
        for (i, rule) in (vs.spec.http ?? []).enumerated() {
            for (j, rd) in (rule.route ?? []).enumerated() {
                out.append(.init(kind: .route, destination: rd.destination ?? Destination(), path: ["http", .index(i), "route", .index(j), "destination"]))
            }
        }
        return out
    }

    /// Every HTTP mirror: the single `mirror` and each of `mirrors`.
    static func mirrors(of vs: VirtualService) -> [AnnotatedDestination] {
        var out: [AnnotatedDestination] = []
        for (i, rule) in (vs.spec.http ?? []).enumerated() {
            if let mirror = rule.mirror {
                out.append(.init(kind: .mirror, destination: mirror, path: ["http", .index(i), "mirror"]))
            }
            for (j, policy) in (rule.mirrors ?? []).enumerated() {
                out.append(.init(kind: .mirror, destination: policy.destination ?? Destination(), path: ["http", .index(i), "mirrors", .index(j), "destination"]))
            }
        }
        return out
    }
}

/// Istio's `virtualservice.DestinationHostAnalyzer`: every destination and mirror host must be a
/// Service or ServiceEntry host visible from the VirtualService's namespace; a port, if given,
/// must be one the service declares, and one must be given when it declares several.
struct VirtualServiceDestinationHostAnalyzer: ResourceAnalyzer {
    let name = "virtualservice.DestinationHostAnalyzer"
    let description = "Checks the destination hosts associated with each virtual service"
    let reports: [AnalysisMessageType] = [.referencedResourceNotFound, .virtualServiceDestinationPortSelectorRequired]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for vs in context.resources.virtualServices {
            for d in AnnotatedDestination.routes(of: vs) + AnnotatedDestination.mirrors(of: vs) {
                let host = d.destination.host ?? ""
                guard let service = context.hosts.destination(host: host, from: vs.namespace, exportTo: vs.spec.exportTo) else {
                    let referenceType = d.kind == .mirror ? "mirror host" : "host"
                    messages.append(AnalysisMessage(
                        .referencedResourceNotFound, vs, specField: d.path / "host",
                        IstioText.referencedResourceNotFound(referenceType, host)))
                    continue
                }
                if let message = checkPort(of: d, service: service, in: vs) { messages.append(message) }
            }
        }
        return messages
    }

    private func checkPort(of d: AnnotatedDestination, service: VisibleHostIndex.Entry, in vs: VirtualService) -> AnalysisMessage? {
        let host = d.destination.host ?? ""
        guard let port = d.destination.port else {
            // Without a port, only a service with several ports is ambiguous.
            guard service.ports.count > 1 else { return nil }
            return AnalysisMessage(
                .virtualServiceDestinationPortSelectorRequired, vs, specField: d.path,
                IstioText.destinationPortSelectorRequired(host, service.ports))
        }
        let number = Int(port.number ?? 0)
        guard !service.ports.contains(number) else { return nil }
        return AnalysisMessage(
            .referencedResourceNotFound, vs, specField: d.path / "port" / "number",
            IstioText.referencedResourceNotFound("host:port", "\(host):\(number)"))
    }
}

/// Istio's `virtualservice.DestinationRuleAnalyzer`: a destination (or mirror) naming a subset
/// needs a DestinationRule for that host defining the subset.
struct VirtualServiceDestinationRuleAnalyzer: ResourceAnalyzer {
    let name = "virtualservice.DestinationRuleAnalyzer"
    let description = "Checks the destination rules associated with each virtual service"
    let reports: [AnalysisMessageType] = [.referencedResourceNotFound]

    private struct HostSubset: Hashable {
        var namespace: String
        var name: String
        var subset: String
    }

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var defined = Set<HostSubset>()
        for dr in context.resources.destinationRules {
            let service = VisibleHostIndex.serviceName(ofHost: dr.spec.host ?? "", defaultNamespace: dr.namespace)
            for subset in dr.spec.subsets ?? [] {
                defined.insert(HostSubset(namespace: service.namespace, name: service.name, subset: subset.name ?? ""))
            }
        }
        var messages: [AnalysisMessage] = []
        for vs in context.resources.virtualServices {
            for d in AnnotatedDestination.routes(of: vs) + AnnotatedDestination.mirrors(of: vs) {
                guard let subset = d.destination.subset, !subset.isEmpty else { continue }
                let host = d.destination.host ?? ""
                let service = VisibleHostIndex.serviceName(ofHost: host, defaultNamespace: vs.namespace)
                guard !defined.contains(HostSubset(namespace: service.namespace, name: service.name, subset: subset)) else { continue }
                let referenceType = d.kind == .mirror ? "mirror+subset in destinationrule" : "host+subset in destinationrule"
                messages.append(AnalysisMessage(
                    .referencedResourceNotFound, vs, specField: d.path / "subset",
                    IstioText.referencedResourceNotFound(referenceType, "\(host)+\(subset)")))
            }
        }
        return messages
    }
}
