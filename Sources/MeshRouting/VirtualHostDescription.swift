/// A read-only view of one virtual host of a snapshot, with its routes in match order: what the
/// admin server's `/config_dump` shows (Envoy's route configuration, in meshsim's words).
public struct VirtualHostDescription: Sendable, Hashable {
    public struct WeightedCluster: Sendable, Hashable {
        public let cluster: String
        /// The weight Envoy uses (a single destination shows 100).
        public let weight: Int
    }

    public struct Route: Sendable, Hashable {
        public enum Action: String, Sendable, Hashable {
            case route, redirect
            case directResponse = "direct_response"
        }

        /// `namespace/name/rule` (or the rule index), as `x-meshsim-route` names it.
        public let name: String
        public let ruleIndex: Int
        /// One summary per match block (ORed); empty when the rule matches every request.
        public let matches: [String]
        public let action: Action
        /// Destinations with their weights (weight-0 ones included), for `route`.
        public let clusters: [WeightedCluster]
        /// For `redirect` and `direct_response`.
        public let status: Int?
        public let timeout: String?
        public let retryAttempts: Int?
    }

    /// As Istio names the virtual host: `reviews.default.svc.cluster.local:9080`.
    public let name: String
    /// `namespace/name` of the VirtualService, nil for a service's default route.
    public let virtualService: String?
    /// The domains (authorities) that select this virtual host, sorted.
    public let domains: [String]
    public let routes: [Route]
}

extension RoutingSnapshot {
    /// Every virtual host, in the order the snapshot holds them.
    public var virtualHostDescriptions: [VirtualHostDescription] {
        var domainsByTable: [Int: [String]] = [:]
        for (domain, index) in domains { domainsByTable[index, default: []].append(domain) }
        for pattern in patternDomains {
            let text = pattern.port.map { "\(pattern.text):\($0)" } ?? pattern.text
            domainsByTable[pattern.table, default: []].append(text)
        }
        return tables.enumerated().map { index, table in
            VirtualHostDescription(
                name: table.name, virtualService: table.virtualService, domains: (domainsByTable[index] ?? []).sorted(),
                routes: table.rules.map(Self.describe))
        }
    }

    private static func describe(_ rule: CompiledRule) -> VirtualHostDescription.Route {
        let matches = rule.blocks.map(\.summary)
        let clusters = rule.destinations.map { VirtualHostDescription.WeightedCluster(cluster: $0.cluster.name, weight: Int($0.weight)) }
        switch rule.action {
        case .forward(let forward):
            return .init(
                name: rule.ref.headerValue, ruleIndex: rule.ref.ruleIndex, matches: matches, action: .route, clusters: clusters,
                status: nil, timeout: forward.timeout?.description, retryAttempts: forward.retries.attempts)
        case .weighted(let set):
            let forward = set.forwards.first
            return .init(
                name: rule.ref.headerValue, ruleIndex: rule.ref.ruleIndex, matches: matches, action: .route, clusters: clusters,
                status: nil, timeout: forward?.timeout?.description, retryAttempts: forward?.retries.attempts)
        case .redirect(let redirect):
            return .init(
                name: rule.ref.headerValue, ruleIndex: rule.ref.ruleIndex, matches: matches, action: .redirect, clusters: [],
                status: redirect.status, timeout: nil, retryAttempts: nil)
        case .directResponse(let status, _):
            return .init(
                name: rule.ref.headerValue, ruleIndex: rule.ref.ruleIndex, matches: matches, action: .directResponse, clusters: [],
                status: status, timeout: nil, retryAttempts: nil)
        }
    }
}
