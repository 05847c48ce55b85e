/// Istio's warnings about VirtualService rules that can never match: a rule after one without
/// matches, a match repeated from an earlier rule, and a URI prefix match shadowed by a shorter
/// prefix with the same other conditions.
enum UnreachableRules {
    static func analyze(_ spec: VirtualServiceSpec, into findings: inout ValidationFindings) {
        http(spec.http ?? [], into: &findings)
        layer4(spec.tcp ?? [], section: "tcp", matches: { ($0.match ?? []).map(normalized) }, into: &findings)
        layer4(spec.tls ?? [], section: "tls", matches: { ($0.match ?? []).map(normalized) }, into: &findings)
    }

    static func unreachable(_ rule: String, _ reason: String) -> String {
        "virtualService rule \(rule) not used (\(reason))"
    }

    static func ineffective(_ rule: String, match: String, shadowedBy: String) -> String {
        "virtualService rule \(rule) match \(match) is not used (duplicate/overlapping match in rule \(shadowedBy))"
    }

    static func ruleName(_ route: HTTPRoute, _ index: Int) -> String {
        if let name = route.name, !name.isEmpty { return NameRules.goQuoted(name) }
        return "#\(index)"
    }

    static func matchName(_ match: HTTPMatchRequest, _ index: Int) -> String {
        if let name = match.name, !name.isEmpty { return NameRules.goQuoted(name) }
        return "#\(index)"
    }

    static func http(_ routes: [HTTPRoute], into findings: inout ValidationFindings) {
        var firstRuleWithMatch: [HTTPMatchRequest: Int] = [:]
        var catchAllRule: Int? = nil
        var prefixMatches: [PrefixMatch] = []
        for (i, route) in routes.enumerated() {
            let matches = route.match ?? []
            let rulePath: FieldPath = ["http", .index(i)]
            if matches.isEmpty {
                if catchAllRule != nil {
                    findings.warning(rulePath, unreachable(ruleName(route, i), "only the last rule can have no matches"))
                }
                catchAllRule = i
                continue
            }
            var duplicates = 0
            for (j, match) in matches.enumerated() {
                if catchAllRule != nil {
                    findings.warning(rulePath, unreachable(ruleName(route, i), "route without matches defined before"))
                    continue
                }
                let key = normalized(match)
                if let earlier = firstRuleWithMatch[key] {
                    findings.warning((rulePath / "match")[j], ineffective(ruleName(route, i), match: matchName(match, j), shadowedBy: ruleName(routes[earlier], earlier)))
                    duplicates += 1
                    continue
                }
                firstRuleWithMatch[key] = i
                if let prefixMatch = PrefixMatch(route: route, ruleIndex: i, match: match, matchIndex: j) {
                    prefixMatches.append(prefixMatch)
                }
            }
            if duplicates == matches.count {
                findings.warning(rulePath, unreachable(ruleName(route, i), "all matches used by prior rules"))
            }
        }
        for (a, earlier) in prefixMatches.enumerated() {
            for later in prefixMatches[(a + 1)...] where later.prefix != earlier.prefix && earlier.covers(later) {
                findings.warning(["http", .index(later.ruleIndex), "match", .index(later.matchIndex)],
                                 ineffective(later.ruleName, match: "\(later.matchName) of prefix \(later.prefix)",
                                             shadowedBy: "\(earlier.matchName) of prefix \(earlier.prefix) on \(earlier.ruleName)"))
            }
        }
    }

    /// TCP and TLS rules have no names; their matches compare whole.
    static func layer4<Route, Match: Hashable>(_ routes: [Route], section: String, matches: (Route) -> [Match], into findings: inout ValidationFindings) {
        var firstRuleWithMatch: [Match: Int] = [:]
        var catchAllRule: Int? = nil
        for (i, route) in routes.enumerated() {
            let routeMatches = matches(route)
            let rulePath: FieldPath = [.key(section), .index(i)]
            if routeMatches.isEmpty {
                if catchAllRule != nil { findings.warning(rulePath, unreachable("#\(i)", "only the last rule can have no matches")) }
                catchAllRule = i
                continue
            }
            var duplicates = 0
            for (j, match) in routeMatches.enumerated() {
                if catchAllRule != nil {
                    findings.warning(rulePath, unreachable("#\(i)", "route without matches defined before"))
                    continue
                }
                if let earlier = firstRuleWithMatch[match] {
                    findings.warning((rulePath / "match")[j], ineffective("#\(i)", match: "#\(j)", shadowedBy: "#\(earlier)"))
                    duplicates += 1
                } else {
                    firstRuleWithMatch[match] = i
                }
            }
            if duplicates == routeMatches.count {
                findings.warning(rulePath, unreachable("#\(i)", "all matches used by prior rules"))
            }
        }
    }

    // Istio compares matches by their JSON, which omits the name and every empty field; these
    // normalize the model so that equal JSON means equal values.

    static func normalized(_ match: HTTPMatchRequest) -> HTTPMatchRequest {
        var key = match
        key.name = nil
        key.headers = key.headers.nilIfEmpty
        key.withoutHeaders = key.withoutHeaders.nilIfEmpty
        key.queryParams = key.queryParams.nilIfEmpty
        key.sourceLabels = key.sourceLabels.nilIfEmpty
        key.gateways = key.gateways.nilIfEmpty
        key.port = key.port == 0 ? nil : key.port
        key.ignoreUriCase = key.ignoreUriCase == true ? true : nil
        key.sourceNamespace = key.sourceNamespace == "" ? nil : key.sourceNamespace
        key.statPrefix = key.statPrefix == "" ? nil : key.statPrefix
        return key
    }

    static func normalized(_ match: L4MatchAttributes) -> L4MatchAttributes {
        var key = match
        key.destinationSubnets = key.destinationSubnets.nilIfEmpty
        key.sourceLabels = key.sourceLabels.nilIfEmpty
        key.gateways = key.gateways.nilIfEmpty
        key.port = key.port == 0 ? nil : key.port
        key.sourceSubnet = key.sourceSubnet == "" ? nil : key.sourceSubnet
        key.sourceNamespace = key.sourceNamespace == "" ? nil : key.sourceNamespace
        return key
    }

    static func normalized(_ match: TLSMatchAttributes) -> TLSMatchAttributes {
        var key = match
        key.sniHosts = key.sniHosts.nilIfEmpty
        key.destinationSubnets = key.destinationSubnets.nilIfEmpty
        key.sourceLabels = key.sourceLabels.nilIfEmpty
        key.gateways = key.gateways.nilIfEmpty
        key.port = key.port == 0 ? nil : key.port
        key.sourceNamespace = key.sourceNamespace == "" ? nil : key.sourceNamespace
        return key
    }
}

/// A match with a URI prefix, reduced to what Istio compares to find shadowed prefixes.
struct PrefixMatch {
    var ruleName: String
    var matchName: String
    var ruleIndex: Int
    var matchIndex: Int
    var prefix: String
    var port: UInt32
    var method: String
    var authority: String
    var headers: [String: String]
    var queryParams: [String: String]
    var withoutHeaders: [String: String]

    init?(route: HTTPRoute, ruleIndex: Int, match: HTTPMatchRequest, matchIndex: Int) {
        guard let prefix = match.uri?.prefix, !prefix.isEmpty else { return nil }
        self.ruleName = UnreachableRules.ruleName(route, ruleIndex)
        self.matchName = UnreachableRules.matchName(match, matchIndex)
        self.ruleIndex = ruleIndex
        self.matchIndex = matchIndex
        self.prefix = prefix
        self.port = match.port ?? 0
        // Istio treats a match without a method as `GET`.
        let method = Self.exactOrPrefix(match.method)
        self.method = method.isEmpty ? "exact:GET" : method
        self.authority = Self.exactOrPrefix(match.authority)
        self.headers = (match.headers ?? [:]).mapValues(Self.exactOrPrefix)
        self.queryParams = (match.queryParams ?? [:]).mapValues(Self.exactOrPrefix)
        self.withoutHeaders = (match.withoutHeaders ?? [:]).mapValues(Self.exactOrPrefix)
    }

    static func exactOrPrefix(_ match: StringMatch?) -> String {
        if let exact = match?.exact, !exact.isEmpty { return "exact:" + exact }
        if let prefix = match?.prefix, !prefix.isEmpty { return "prefix:" + prefix }
        return ""
    }

    /// Whether every request `later` matches is already taken by `self` (Istio's coveredValidation).
    func covers(_ later: PrefixMatch) -> Bool {
        guard later.prefix.hasPrefix(prefix), later.port == port else { return false }
        if method != later.method && !method.hasPrefix(later.method) { return false }
        if authority != later.authority && !authority.hasPrefix(later.authority) { return false }
        return Self.covers(headers, later.headers) && Self.covers(queryParams, later.queryParams)
            && Self.covers(withoutHeaders, later.withoutHeaders)
    }

    private static func covers(_ mine: [String: String], _ theirs: [String: String]) -> Bool {
        guard mine.count == theirs.count else { return false }
        return mine.allSatisfy { key, value in
            guard let other = theirs[key] else { return false }
            return value == other || value.hasPrefix(other)
        }
    }
}

extension Optional where Wrapped: Collection {
    fileprivate var nilIfEmpty: Wrapped? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
