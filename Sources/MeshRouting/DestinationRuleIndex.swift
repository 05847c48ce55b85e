import MeshConfig

/// The DestinationRules that apply to one host, merged as Istio merges rules for the same host
/// in one namespace: subsets concatenated (a name already seen is skipped), the first
/// top-level traffic policy kept.
struct EffectiveDestinationRule: Sendable {
    /// `namespace/name` of the first rule merged.
    let name: String
    let trafficPolicy: TrafficPolicy?
    let subsets: [Subset]

    func subset(named name: String) -> Subset? { subsets.first { $0.name == name } }
}

/// Finds the DestinationRule for a host the way a sidecar does (Istio's
/// `SidecarScope.DestinationRule`): rules in the client's namespace first, then in the
/// service's namespace, then in the root namespace; within a namespace an exact host beats
/// the most specific wildcard. Rules not exported to the client, and rules whose
/// `workloadSelector` does not select the client, do not apply.
struct DestinationRuleIndex: Sendable {
    private struct Entry: Sendable {
        let rule: DestinationRule
        let host: String
    }
    private let byNamespace: [String: [Entry]]
    private let options: RoutingOptions

    init(_ rules: [DestinationRule], options: RoutingOptions) {
        self.options = options
        var byNamespace: [String: [Entry]] = [:]
        // Istio merges rules for one host in creation order: the first keeps its policy and subsets.
        for rule in ConfigPrecedence.sorted(rules) {
            guard let host = rule.spec.host, !host.isEmpty else { continue }
            guard Visibility.isExported(rule.spec.exportTo, from: rule.namespace, to: options.clientNamespace) else { continue }
            if let selector = rule.spec.workloadSelector?.matchLabels, !selector.isEmpty,
                !selector.allSatisfy({ options.clientLabels[$0.key] == $0.value })
            {
                continue
            }
            let fqdn = HostName.fullyQualified(host, namespace: rule.namespace).lowercased()
            byNamespace[rule.namespace, default: []].append(Entry(rule: rule, host: fqdn))
        }
        self.byNamespace = byNamespace
    }

    func rule(forHost host: String, serviceNamespace: String?) -> EffectiveDestinationRule? {
        var namespaces = [options.clientNamespace]
        if let serviceNamespace, !namespaces.contains(serviceNamespace) { namespaces.append(serviceNamespace) }
        if !namespaces.contains(options.rootNamespace) { namespaces.append(options.rootNamespace) }
        let lower = host.lowercased()
        for namespace in namespaces {
            guard let entries = byNamespace[namespace] else { continue }
            let exact = entries.filter { $0.host == lower }
            if !exact.isEmpty { return merge(exact.map(\.rule)) }
            let wildcards = entries.filter { HostName.isWildcard($0.host) && HostName.matches(pattern: $0.host, host: lower) }
            if let best = wildcards.max(by: { $0.host.count < $1.host.count }) {
                return merge(wildcards.filter { $0.host == best.host }.map(\.rule))
            }
        }
        return nil
    }

    private func merge(_ rules: [DestinationRule]) -> EffectiveDestinationRule {
        var subsets: [Subset] = []
        var policy: TrafficPolicy? = nil
        for rule in rules {
            if policy == nil { policy = rule.spec.trafficPolicy }
            for subset in rule.spec.subsets ?? [] where !subsets.contains(where: { $0.name == subset.name }) {
                subsets.append(subset)
            }
        }
        return EffectiveDestinationRule(name: rules[0].qualifiedName, trafficPolicy: policy, subsets: subsets)
    }
}

/// Istio's `exportTo`: unset or `*` is every namespace, `.` the resource's own, `~` none.
enum Visibility {
    static func isExported(_ exportTo: [String]?, from namespace: String, to client: String) -> Bool {
        guard let exportTo, !exportTo.isEmpty else { return true }
        for target in exportTo {
            switch target {
            case "*": return true
            case ".": if namespace == client { return true }
            case "~": continue
            default: if target == client { return true }
            }
        }
        return false
    }

    /// Istio lists the VirtualServices a sidecar sees in three groups, each in `ConfigPrecedence`
    /// order (`SelectVirtualServices`, from `virtualServiceIndex`): those private to the client's
    /// namespace (exported to their own namespace, which is the client's), then those exported
    /// by name to the client's namespace, then public ones (`*`, or no `exportTo`). For a host
    /// two of them claim, the earlier wins. Only for resources `isExported` to the client.
    static func precedenceGroup(_ exportTo: [String]?, from namespace: String, to client: String) -> Int {
        guard let exportTo, !exportTo.isEmpty, !exportTo.contains("*") else { return 2 }
        return namespace == client ? 0 : 1
    }
}

/// The traffic policy of one cluster, merged as Istio's `MergeSubsetTrafficPolicy` does:
/// port-level settings for the port replace the destination-level ones wholesale (fields they
/// omit fall back to defaults), then the subset's policy overrides field by field, its own
/// port-level settings again wholesale.
struct ClusterTrafficPolicy: Sendable {
    var loadBalancer: LoadBalancerSettings?
    var connectionPool: ConnectionPoolSettings?
    var outlierDetection: OutlierDetection?
    var tls: ClientTLSSettings?

    init(destination: TrafficPolicy?, subset: TrafficPolicy?, port: Int) {
        if let destination {
            self = ClusterTrafficPolicy.forPort(destination, port: port).policy
        }
        guard let subset else { return }
        let (subsetPolicy, portLevel) = ClusterTrafficPolicy.forPort(subset, port: port)
        if subsetPolicy.loadBalancer != nil || portLevel { loadBalancer = subsetPolicy.loadBalancer }
        if subsetPolicy.connectionPool != nil || portLevel { connectionPool = subsetPolicy.connectionPool }
        if subsetPolicy.outlierDetection != nil || portLevel { outlierDetection = subsetPolicy.outlierDetection }
        if subsetPolicy.tls != nil || portLevel { tls = subsetPolicy.tls }
    }

    private init() {}

    private static func forPort(_ policy: TrafficPolicy, port: Int) -> (policy: ClusterTrafficPolicy, portLevel: Bool) {
        var out = ClusterTrafficPolicy()
        if let level = policy.portLevelSettings?.first(where: { $0.port?.number.map(Int.init) == port }) {
            out.loadBalancer = level.loadBalancer
            out.connectionPool = level.connectionPool
            out.outlierDetection = level.outlierDetection
            out.tls = level.tls
            return (out, true)
        }
        out.loadBalancer = policy.loadBalancer
        out.connectionPool = policy.connectionPool
        out.outlierDetection = policy.outlierDetection
        out.tls = policy.tls
        return (out, false)
    }
}
