import MeshConfig

/// Delegate VirtualServices, merged into their root as istiod merges them before building any
/// route (`mergeVirtualServices` in `pilot/pkg/model/virtualservice_controller.go`,
/// `MergeHTTPRoutes` in `pilot/pkg/model/virtualservice.go`):
/// - a root's rule with `delegate: {name, namespace}` is replaced by the delegate's rules (a
///   VirtualService without `hosts`; namespace defaults to the root's), each merged with the
///   root rule; a delegate that does not exist, or is not exported to the root's namespace, drops
///   only that rule;
/// - a merged rule's match blocks: each delegate block combined with every root block it does
///   not conflict with (fields the delegate leaves unset come from the root; headers,
///   withoutHeaders, queryParams and sourceLabels are unions, the delegate's value winning); a
///   delegate block that conflicts with every root block drops the whole delegate rule;
/// - rewrite, timeout, retries, fault, mirrors, headers, corsPolicy and directResponse the
///   delegate rule leaves unset come from the root rule; names join as `root-delegate`;
/// - short host names resolve in the namespace of the VirtualService that wrote them.
struct DelegateMerger {
    /// A rule of the merged VirtualService and where it was written (for file:line).
    struct MergedRule {
        let route: HTTPRoute
        let source: VirtualService
        let sourceIndex: Int
    }

    /// VirtualServices without hosts, by `namespace/name`.
    private let delegates: [String: VirtualService]

    init(_ virtualServices: [VirtualService]) {
        var delegates: [String: VirtualService] = [:]
        for vs in virtualServices where (vs.spec.hosts ?? []).isEmpty {
            let key = "\(vs.namespace)/\(vs.name)"
            if delegates[key] == nil { delegates[key] = vs }
        }
        self.delegates = delegates
    }

    /// Whether `vs` delegates any of its rules.
    static func isRoot(_ vs: VirtualService) -> Bool {
        (vs.spec.http ?? []).contains { $0.delegate != nil }
    }

    /// The root's rules with every delegating rule replaced by the merged delegate rules.
    func merge(_ root: VirtualService, notes: inout [ConfigDiagnostic]) -> [MergedRule] {
        var out: [MergedRule] = []
        for (index, rule) in (root.spec.http ?? []).enumerated() {
            guard let delegate = rule.delegate else {
                out.append(MergedRule(route: Self.resolvingHosts(rule, namespace: root.namespace), source: root, sourceIndex: index))
                continue
            }
            let field: FieldPath = ["http", .index(index), .key("delegate")]
            let namespace = (delegate.namespace ?? "").isEmpty ? root.namespace : (delegate.namespace ?? root.namespace)
            let key = "\(namespace)/\(delegate.name ?? "")"
            guard let target = delegates[key] else {
                notes.append(root.diagnostic(.warning, field, "delegate VirtualService \(key) not found (a delegate has no hosts); Istio ignores this rule"))
                continue
            }
            guard Visibility.isExported(target.spec.exportTo, from: target.namespace, to: root.namespace) else {
                notes.append(root.diagnostic(.warning, field, "delegate VirtualService \(key) is not exported to \(root.namespace); Istio ignores this rule"))
                continue
            }
            var rootRule = Self.resolvingHosts(rule, namespace: root.namespace)
            rootRule.delegate = nil
            for (delegateIndex, delegateRule) in (target.spec.http ?? []).enumerated() {
                let resolved = Self.resolvingHosts(delegateRule, namespace: target.namespace)
                guard let merged = Self.merge(root: rootRule, delegate: resolved) else {
                    notes.append(target.diagnostic(
                        .warning, ["http", .index(delegateIndex), .key("match")],
                        "no match block is within the root's (\(root.qualifiedName) http[\(index)]); Istio drops this delegate rule"))
                    continue
                }
                out.append(MergedRule(route: merged, source: target, sourceIndex: delegateIndex))
            }
        }
        return out
    }

    /// `ResolveVirtualServiceShortnames` for one rule: destination and mirror hosts become FQDNs
    /// in `namespace`.
    static func resolvingHosts(_ rule: HTTPRoute, namespace: String) -> HTTPRoute {
        func resolve(_ destination: Destination?) -> Destination? {
            guard var destination, let host = destination.host else { return destination }
            destination.host = HostName.fullyQualified(host, namespace: namespace)
            return destination
        }
        var out = rule
        out.route = rule.route?.map { var d = $0; d.destination = resolve(d.destination); return d }
        out.mirror = resolve(rule.mirror)
        out.mirrors = rule.mirrors?.map { var m = $0; m.destination = resolve(m.destination); return m }
        return out
    }

    /// `mergeHTTPRoute`: nil when the delegate rule's matches conflict with the root's.
    static func merge(root: HTTPRoute, delegate: HTTPRoute) -> HTTPRoute? {
        guard let matches = mergeMatches(root: root.match ?? [], delegate: delegate.match ?? []) else { return nil }
        var out = delegate
        out.match = matches.isEmpty ? nil : matches
        out.name = joinedName(root.name, delegate.name)
        if out.rewrite == nil { out.rewrite = root.rewrite }
        if out.directResponse == nil { out.directResponse = root.directResponse }
        if out.timeout == nil { out.timeout = root.timeout }
        if out.retries == nil { out.retries = root.retries }
        if out.fault == nil { out.fault = root.fault }
        if out.mirror == nil { out.mirror = root.mirror }
        if out.mirrorPercent == nil { out.mirrorPercent = root.mirrorPercent }
        if out.mirrorPercentage == nil { out.mirrorPercentage = root.mirrorPercentage }
        if out.corsPolicy == nil { out.corsPolicy = root.corsPolicy }
        if (out.mirrors ?? []).isEmpty { out.mirrors = root.mirrors }
        if out.headers == nil { out.headers = root.headers }
        return out
    }

    /// `name` for a delegate's rule or match block: its own, prefixed by the root's.
    private static func joinedName(_ root: String?, _ delegate: String?) -> String? {
        guard let delegate, !delegate.isEmpty else { return root }
        guard let root, !root.isEmpty else { return delegate }
        return "\(root)-\(delegate)"
    }

    /// `mergeHTTPMatchRequests`: nil on conflict.
    static func mergeMatches(root: [HTTPMatchRequest], delegate: [HTTPMatchRequest]) -> [HTTPMatchRequest]? {
        if root.isEmpty { return delegate }
        if delegate.isEmpty { return root }
        var out: [HTTPMatchRequest] = []
        for leaf in delegate {
            var found = false
            for rootMatch in root where !conflicts(rootMatch, leaf) {
                out.append(merge(rootMatch, leaf))
                found = true
            }
            if !found { return nil }
        }
        return out.isEmpty ? nil : out
    }

    /// `mergeHTTPMatchRequest`.
    static func merge(_ root: HTTPMatchRequest, _ leaf: HTTPMatchRequest) -> HTTPMatchRequest {
        func union<V>(_ base: [String: V]?, _ override: [String: V]?) -> [String: V]? {
            guard base != nil || override != nil else { return nil }
            return (base ?? [:]).merging(override ?? [:]) { _, new in new }
        }
        var out = leaf
        out.name = joinedName(root.name, leaf.name)
        if out.uri == nil { out.uri = root.uri }
        if out.scheme == nil { out.scheme = root.scheme }
        if out.method == nil { out.method = root.method }
        if out.authority == nil { out.authority = root.authority }
        out.headers = union(root.headers, leaf.headers)
        out.withoutHeaders = union(root.withoutHeaders, leaf.withoutHeaders)
        out.queryParams = union(root.queryParams, leaf.queryParams)
        if (out.port ?? 0) == 0 { out.port = root.port }
        out.sourceLabels = union(root.sourceLabels, leaf.sourceLabels)
        if (out.sourceNamespace ?? "").isEmpty { out.sourceNamespace = root.sourceNamespace }
        if (out.gateways ?? []).isEmpty { out.gateways = root.gateways }
        if (out.statPrefix ?? "").isEmpty { out.statPrefix = root.statPrefix }
        return out
    }

    /// `hasConflict`: whether the delegate block `leaf` asks for something outside `root`.
    static func conflicts(_ root: HTTPMatchRequest, _ leaf: HTTPMatchRequest) -> Bool {
        let pairs: [(StringMatch?, StringMatch?)] = [(root.uri, leaf.uri), (root.scheme, leaf.scheme), (root.method, leaf.method), (root.authority, leaf.authority)]
        if pairs.contains(where: { conflicts($0.0, $0.1) }) { return true }
        for (key, value) in leaf.headers ?? [:] where conflicts(root.headers?[key], value) { return true }
        for (key, value) in leaf.withoutHeaders ?? [:] where conflicts(root.withoutHeaders?[key], value) { return true }
        for (key, value) in leaf.queryParams ?? [:] where conflicts(root.queryParams?[key], value) { return true }
        if (root.ignoreUriCase ?? false) != (leaf.ignoreUriCase ?? false) { return true }
        if let a = root.port, let b = leaf.port, a > 0, b > 0, a != b { return true }
        if let namespace = root.sourceNamespace, !namespace.isEmpty, leaf.sourceNamespace != namespace { return true }
        for (key, value) in leaf.sourceLabels ?? [:] {
            if let rootValue = root.sourceLabels?[key], rootValue != value { return true }
        }
        if let rootGateways = root.gateways, let leafGateways = leaf.gateways, !rootGateways.isEmpty, !leafGateways.isEmpty {
            if rootGateways.count < leafGateways.count || leafGateways.contains(where: { !rootGateways.contains($0) }) { return true }
        }
        return false
    }

    /// `stringMatchConflict`: a delegate's match must be within the root's (the same exact
    /// value, or a prefix/exact value under the root's prefix); regexes cannot be compared.
    static func conflicts(_ root: StringMatch?, _ leaf: StringMatch?) -> Bool {
        guard let root, let leaf else { return false }
        func nonEmpty(_ s: String?) -> String? { (s ?? "").isEmpty ? nil : s }
        let leafHasAny = nonEmpty(leaf.regex) != nil || nonEmpty(leaf.prefix) != nil || nonEmpty(leaf.exact) != nil
        let rootHasAny = nonEmpty(root.regex) != nil || nonEmpty(root.prefix) != nil || nonEmpty(root.exact) != nil
        if nonEmpty(root.regex) != nil && leafHasAny { return true }
        if nonEmpty(leaf.regex) != nil && rootHasAny { return true }
        if let exact = nonEmpty(root.exact) {
            if nonEmpty(leaf.prefix) != nil { return true }
            return (leaf.exact ?? "") != exact
        }
        if let prefix = nonEmpty(root.prefix) {
            if let leafPrefix = nonEmpty(leaf.prefix) { return !leafPrefix.hasPrefix(prefix) }
            if let leafExact = nonEmpty(leaf.exact) { return !leafExact.hasPrefix(prefix) }
        }
        return true
    }
}
