/// Istio's `virtualservice.ConflictingMeshGatewayHostsAnalyzer`: two VirtualServices bound to
/// the mesh gateway (sidecars) that claim the same host, where one namespace sees both, make
/// routing undefined. Scopes follow each VirtualService's `exportTo`.
///
/// meshsim counts resources by identity: the same `namespace/name` given twice (say, two steps
/// of a rollout loaded together) is one VirtualService replacing another, not a conflict.
struct ConflictingMeshGatewayHostsAnalyzer: ResourceAnalyzer {
    let name = "virtualservice.ConflictingMeshGatewayHostsAnalyzer"
    let description = "Checks if multiple virtual services associated with the mesh gateway have conflicting hosts"
    let reports: [AnalysisMessageType] = [.conflictingMeshGatewayVirtualServiceHosts]

    private struct ScopedHost: Hashable, Comparable {
        var scope: String
        var host: String
        var text: String { "\(scope)/\(host)" }
        static func < (a: ScopedHost, b: ScopedHost) -> Bool { a.text < b.text }
    }

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var byHost: [ScopedHost: [VirtualService]] = [:]
        for vs in context.resources.virtualServices where Self.appliesToMesh(vs) {
            for scope in Self.scopes(of: vs) {
                for host in vs.spec.hosts ?? [] {
                    byHost[ScopedHost(scope: scope, host: HostName.fullyQualified(host, namespace: vs.namespace)), default: []].append(vs)
                }
            }
        }

        var reported = Set<String>()
        var messages: [AnalysisMessage] = []
        for key in byHost.keys.sorted() {
            var claimants = byHost[key] ?? []
            if key.scope != VisibleHostIndex.exportToAll {
                // VirtualServices exported everywhere are seen from this namespace too.
                for other in byHost.keys.sorted() where other.scope == VisibleHostIndex.exportToAll && HostName.overlaps(key.host, other.host) {
                    claimants += byHost[other] ?? []
                }
            }
            let names = Array(Set(claimants.map(\.qualifiedName))).sorted()
            guard names.count > 1 else { continue }
            for vs in claimants where !reported.contains(vs.qualifiedName) {
                reported.insert(vs.qualifiedName)
                messages.append(AnalysisMessage(
                    .conflictingMeshGatewayVirtualServiceHosts, vs, rootField: ["metadata", "name"],
                    IstioText.conflictingMeshGatewayHosts(names.joined(separator: ","), key.text)))
            }
        }
        return messages
    }

    /// No `gateways` means the mesh gateway; otherwise `mesh` must be listed.
    static func appliesToMesh(_ vs: VirtualService) -> Bool {
        let gateways = vs.spec.gateways ?? []
        return gateways.isEmpty || gateways.contains("mesh")
    }

    private static func scopes(of vs: VirtualService) -> [String] {
        let exportTo = vs.spec.exportTo ?? []
        if exportTo.isEmpty || exportTo.contains(VisibleHostIndex.exportToAll) { return [VisibleHostIndex.exportToAll] }
        return Array(Set(exportTo.map { $0 == VisibleHostIndex.exportToLocal ? vs.namespace : $0 })).sorted()
    }
}
