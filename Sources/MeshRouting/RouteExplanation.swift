import MeshConfig

/// Everything `meshsim route` prints about one request: the virtual host, the VirtualService
/// and rule that matched (and why earlier rules did not), the destinations with weights and
/// fractions, and the status and response flags Envoy would answer with.
public struct RouteExplanation: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        case forward
        case redirect(location: String)
        case directResponse(body: String?)
        case noRoute
    }

    public struct Rule: Sendable, Hashable {
        public let index: Int
        public let name: String?
    }

    public struct Destination: Sendable, Hashable {
        /// Fully qualified.
        public let host: String
        public let subset: String?
        public let port: Int
        public let cluster: String
        /// The weight Envoy uses (a lone destination's is 100 whatever was written).
        public let weight: Int
        /// Share of matching requests that go here (`weight / sum of weights`).
        public let fraction: Double
        /// Names of the workloads the cluster selects.
        public let endpoints: [String]
        public let state: ClusterState
        /// 200 when the request can be forwarded; 503 when the cluster has no endpoint.
        public let status: Int
        /// "-", "UH" (no healthy upstream) or "NC" (cluster not found).
        public let responseFlags: String
        /// What the cluster speaks to its endpoints.
        public let upstreamProtocol: UpstreamProtocol
    }

    /// A rule tried before the one that matched (or every rule when none did), and why it did not apply.
    public struct SkippedRule: Sendable, Hashable {
        public let index: Int
        public let name: String?
        public let reason: String
    }

    public let authority: String
    public let method: String
    public let path: String
    /// The virtual host that took the authority (`reviews.default.svc.cluster.local:9080`), nil when none did.
    public let virtualHost: String?
    public let port: Int?
    /// `namespace/name`; nil for no virtual host or a service's default route.
    public let virtualService: String?
    public let rule: Rule?
    /// Index of the match block that held in the rule's `match` list; nil for a rule without `match`.
    public let matchIndex: Int?
    public let matchName: String?
    /// The conditions of that block, in words.
    public let matchConditions: String?
    public let skippedRules: [SkippedRule]
    public let action: Action
    /// What the client would get: 200 when forwarded (503 when a chosen destination has no endpoint),
    /// 404 for no route, the redirect or direct response status otherwise.
    public let status: Int
    /// Envoy's response flags: "-", "NR", "UH", "NC" (several joined with ",").
    public let responseFlags: String
    public let destinations: [Destination]
    public let route: RouteRef?
    public let notes: [String]
}

extension RoutingSnapshot {
    /// The explanation behind `meshsim route` (virtual service, rule index/name, which match
    /// block held, destinations with weights and fractions, status and response flags).
    public func explain(_ request: some RequestAttributes) -> RouteExplanation {
        guard let tableIndex = table(forAuthority: request.authority) else {
            return RouteExplanation(
                authority: request.authority, method: request.method, path: request.path, virtualHost: nil, port: nil,
                virtualService: nil, rule: nil, matchIndex: nil, matchName: nil, matchConditions: nil, skippedRules: [],
                action: .noRoute, status: 404, responseFlags: "NR", destinations: [], route: nil,
                notes: ["no virtual host answers to authority \"\(request.authority)\" (known: \(knownHosts.joined(separator: ", ")))"])
        }
        let table = tables[tableIndex]
        var skipped: [RouteExplanation.SkippedRule] = []
        var matched: (rule: CompiledRule, block: Int)? = nil
        withView(of: request, for: table) { view in
            let found = table.program.firstMatch(view)
            // Every rule before the one that matched (or every rule) gets the reason it did not.
            for r in 0..<(found?.rule ?? table.rules.count) {
                let rule = table.rules[r]
                let reasons = rule.blocks.enumerated().map { b, block -> String in
                    let failing = block.conditions.indices.first { !table.program.conditionHolds(rule: r, block: b, condition: $0, view) }
                    let reason = failing.map { "\(block.conditions[$0]) (\(block.conditions[$0].observed(in: view)))" } ?? "?"
                    return "match[\(block.index)]: \(reason)"
                }
                skipped.append(.init(index: rule.ref.ruleIndex, name: rule.ref.ruleName, reason: reasons.joined(separator: "; ")))
            }
            if let found { matched = (table.rules[found.rule], found.block) }
        }
        let limit = matched?.rule.ref.ruleIndex ?? Int.max
        for dropped in table.droppedRules where dropped.index < limit {
            let name = virtualServices.first { $0.name == table.virtualService }?.rules.first { $0.index == dropped.index }?.name
            skipped.append(.init(index: dropped.index, name: name, reason: dropped.reason))
        }
        skipped.sort { $0.index < $1.index }

        guard let (rule, blockIndex) = matched else {
            return RouteExplanation(
                authority: request.authority, method: request.method, path: request.path, virtualHost: table.name, port: table.port,
                virtualService: table.virtualService, rule: nil, matchIndex: nil, matchName: nil, matchConditions: nil,
                skippedRules: skipped, action: .noRoute, status: 404, responseFlags: "NR", destinations: [], route: nil, notes: [])
        }
        let block = blockIndex >= 0 ? rule.blocks[blockIndex] : nil
        var notes: [String] = []
        let action: RouteExplanation.Action
        var status = 200
        var flags = "-"
        let total = rule.destinations.reduce(UInt64(0)) { $0 + $1.weight }
        let destinations = rule.destinations.map { entry -> RouteExplanation.Destination in
            let flag = entry.cluster.state.responseFlag
            return RouteExplanation.Destination(
                host: entry.cluster.host, subset: entry.cluster.subset, port: entry.cluster.port, cluster: entry.cluster.name,
                weight: Int(entry.weight), fraction: total == 0 ? 0 : Double(entry.weight) / Double(total),
                endpoints: entry.cluster.endpoints.map(\.workload.name), state: entry.cluster.state,
                status: flag == nil ? 200 : 503, responseFlags: flag ?? "-", upstreamProtocol: entry.cluster.upstreamProtocol)
        }
        // What the proxy answers itself for the matched rule, forwarding nothing.
        func answeredByTheProxy(status: Int, note: String) -> RouteExplanation {
            RouteExplanation(
                authority: request.authority, method: request.method, path: request.path, virtualHost: table.name, port: table.port,
                virtualService: table.virtualService, rule: .init(index: rule.ref.ruleIndex, name: rule.ref.ruleName),
                matchIndex: block?.index, matchName: block?.name, matchConditions: block?.summary, skippedRules: skipped,
                action: .directResponse(body: nil), status: status, responseFlags: "-", destinations: [], route: rule.ref,
                notes: [note])
        }
        let requested = SidecarUpgrade.requestedProtocol(upgrade: request.header("upgrade"), connection: request.header("connection").map { [$0] } ?? [])
        switch SidecarUpgrade(method: request.method, requestedProtocol: requested) {
        case .refused(let what):
            return answeredByTheProxy(status: 403, note: "\(what) is refused: a sidecar allows only the websocket upgrade (403, upgrade_failed)")
        case .websocket:
            notes.append("a WebSocket upgrade: once the pod answers 101 the connection is a tunnel to that pod")
        case nil:
            break
        }
        // Envoy's CORS filter runs before the router: a preflight it answers never goes upstream.
        if let cors = firstForward(rule.action)?.cors, let origin = request.header("origin"), !origin.isEmpty {
            let allowed = cors.allows(origin: origin)
            let asked = request.method == "OPTIONS" ? request.header("access-control-request-method") ?? "" : ""
            if !asked.isEmpty && (allowed || !cors.forwardNotMatchingPreflights) {
                return answeredByTheProxy(
                    status: 200,
                    note: "a CORS preflight from \(allowed ? "allowed" : "unlisted") origin \(origin): the rule's corsPolicy answers it (200), nothing is forwarded")
            }
            notes.append(allowed
                ? "origin \(origin) is allowed by the rule's corsPolicy: answers carry access-control-allow-origin"
                : "origin \(origin) is not allowed by the rule's corsPolicy: answers carry no access-control-* fields")
        }
        switch rule.action {
        case .redirect(let redirect):
            action = .redirect(location: redirect.location(for: request, matchedPathBytes: rule.matchedPathBytes(block: blockIndex, path: request.path)))
            status = redirect.status
        case .directResponse(let code, let body):
            action = .directResponse(body: body)
            status = code
        case .forward, .weighted:
            action = .forward
            let failing = destinations.filter { $0.fraction > 0 && $0.status != 200 }
            if !failing.isEmpty {
                status = 503
                var seen: [String] = []
                for d in failing where !seen.contains(d.responseFlags) { seen.append(d.responseFlags) }
                flags = seen.joined(separator: ",")
            }
            for d in destinations where d.fraction > 0 {
                let share = RouteExplanation.percent(d.fraction)
                let target = d.subset.map { "subset \($0) of \(d.host)" } ?? d.host
                switch d.state {
                case .ready: break
                case .unchecked:
                    notes.append("endpoints of \(target) were not checked: no workloads are declared for \(d.host)")
                case .noHealthyUpstream:
                    let labels = (clusterIndex[d.cluster]?.subsetLabels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    notes.append("\(share) of these requests go to \(target), whose labels {\(labels)} select no workload: 503 no healthy upstream (UH)")
                case .undefinedSubset:
                    if hiddenHosts.contains(d.host.lowercased()) {
                        notes.append("\(share) of these requests go to \(d.host), which is not exported to the client's namespace \(options.clientNamespace): 503 cluster not found (NC)")
                    } else if let ports = registry.service(forHost: d.host)?.ports, !ports.isEmpty, !ports.contains(where: { $0.number == d.port }) {
                        notes.append("\(share) of these requests go to port \(d.port) of \(d.host), which the service does not have: 503 cluster not found (NC)")
                    } else {
                        notes.append("\(share) of these requests go to \(target), which no DestinationRule defines: 503 cluster not found (NC)")
                    }
                }
            }
            if let forward = firstForward(rule.action), let fault = forward.fault {
                if let abort = fault.abort { notes.append("fault injection aborts \(RouteExplanation.percent(abort.percentage / 100)) of requests with \(abort.httpStatus.map(String.init) ?? "gRPC \(abort.grpcStatus ?? "?")") (FI)") }
                if let delay = fault.delay { notes.append("fault injection delays \(RouteExplanation.percent(delay.percentage / 100)) of requests by \(delay.duration) (DI)") }
            }
        }
        return RouteExplanation(
            authority: request.authority, method: request.method, path: request.path, virtualHost: table.name, port: table.port,
            virtualService: table.virtualService, rule: table.virtualService == nil ? nil : .init(index: rule.ref.ruleIndex, name: rule.ref.ruleName),
            matchIndex: block?.index, matchName: block?.name, matchConditions: block?.summary, skippedRules: skipped, action: action,
            status: status, responseFlags: flags, destinations: destinations, route: rule.ref, notes: notes)
    }

    private func firstForward(_ action: RuleAction) -> Forward? {
        switch action {
        case .forward(let forward): return forward
        case .weighted(let set): return set.forwards.first
        case .redirect, .directResponse: return nil
        }
    }

    /// The hosts the snapshot has virtual hosts for (FQDNs and wildcard patterns), each once,
    /// those of VirtualServices first.
    public var hosts: [String] {
        var seen: Set<String> = []
        let ordered = tables.filter { $0.virtualService != nil } + tables.filter { $0.virtualService == nil }
        return ordered.map(\.host).filter { seen.insert($0).inserted }
    }

    /// Every exact domain of the snapshot's virtual hosts without a port, sorted (for messages).
    public var knownHosts: [String] {
        let exact = domains.keys.filter { !$0.contains(":") }
        return Array(Set(exact + patternDomains.map(\.text))).sorted()
    }
}

extension RouteExplanation {
    /// `5%`, `33.3%`, `0.1%`.
    static func percent(_ fraction: Double) -> String {
        let value = fraction * 100
        if value == value.rounded() { return "\(Int(value))%" }
        return "\((value * 10).rounded() / 10)%"
    }
}
