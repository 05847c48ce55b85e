/// Istio's unreachable-rule checks (`analyzeUnreachableHTTPRules` and its TCP/TLS twins in
/// `pkg/config/validation`, reported by istioctl as IST0130 and IST0131):
/// - a rule after a rule without matches (which takes every request) is never used;
/// - a match block identical to an earlier one (ignoring its `name`) is never used, and a rule
///   whose every match block is such a duplicate is never used;
/// - an HTTP match whose URI prefix extends an earlier match's prefix, with the same port and
///   otherwise covered conditions, is never used.
struct UnreachableRulesAnalyzer: ResourceAnalyzer {
    let name = "virtualservice.UnreachableRulesAnalyzer"
    let description = "Checks for virtual service rules and matches that no request can reach"
    let reports: [AnalysisMessageType] = [.virtualServiceUnreachableRule, .virtualServiceIneffectiveMatch]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for vs in context.resources.virtualServices {
            let http = vs.spec.http ?? []
            messages += Self.unreachable(
                in: vs, section: "http", rules: http.map { $0.match?.map(MatchKey.init) },
                ruleName: { Self.routeName(http[$0].name, $0) },
                matchName: { rule, match in Self.routeName(http[rule].match?[match].name, match) })
            messages += Self.overlappingPrefixes(in: vs)
            let plainName: (Int) -> String = { "#\($0)" }
            messages += Self.unreachable(
                in: vs, section: "tcp", rules: (vs.spec.tcp ?? []).map { $0.match?.map(MatchKey.init) },
                ruleName: plainName, matchName: { _, match in "#\(match)" })
            messages += Self.unreachable(
                in: vs, section: "tls", rules: (vs.spec.tls ?? []).map { $0.match?.map(MatchKey.init) },
                ruleName: plainName, matchName: { _, match in "#\(match)" })
        }
        return messages
    }

    /// A match block as Istio compares them: what it matches, not its name, and with protobuf's
    /// defaults (empty string, zero, false, empty map) the same as unset.
    enum MatchKey: Hashable {
        case http(HTTPMatchRequest)
        case tcp(L4MatchAttributes)
        case tls(TLSMatchAttributes)

        init(_ m: HTTPMatchRequest) {
            var m = m
            m.name = nil
            m.uri = m.uri.map(Self.normalized)
            m.scheme = m.scheme.map(Self.normalized)
            m.method = m.method.map(Self.normalized)
            m.authority = m.authority.map(Self.normalized)
            m.headers = Self.nonEmpty(m.headers?.mapValues(Self.normalized))
            m.queryParams = Self.nonEmpty(m.queryParams?.mapValues(Self.normalized))
            m.withoutHeaders = Self.nonEmpty(m.withoutHeaders?.mapValues(Self.normalized))
            m.port = m.port == 0 ? nil : m.port
            m.sourceLabels = Self.nonEmpty(m.sourceLabels)
            m.gateways = Self.nonEmpty(m.gateways)
            m.ignoreUriCase = m.ignoreUriCase == true ? true : nil
            m.sourceNamespace = Self.nonEmpty(m.sourceNamespace)
            m.statPrefix = Self.nonEmpty(m.statPrefix)
            self = .http(m)
        }

        init(_ m: L4MatchAttributes) {
            var m = m
            m.destinationSubnets = Self.nonEmpty(m.destinationSubnets)
            m.port = m.port == 0 ? nil : m.port
            m.sourceSubnet = Self.nonEmpty(m.sourceSubnet)
            m.sourceLabels = Self.nonEmpty(m.sourceLabels)
            m.gateways = Self.nonEmpty(m.gateways)
            m.sourceNamespace = Self.nonEmpty(m.sourceNamespace)
            self = .tcp(m)
        }

        init(_ m: TLSMatchAttributes) {
            var m = m
            m.sniHosts = Self.nonEmpty(m.sniHosts)
            m.destinationSubnets = Self.nonEmpty(m.destinationSubnets)
            m.port = m.port == 0 ? nil : m.port
            m.sourceLabels = Self.nonEmpty(m.sourceLabels)
            m.gateways = Self.nonEmpty(m.gateways)
            m.sourceNamespace = Self.nonEmpty(m.sourceNamespace)
            self = .tls(m)
        }

        private static func normalized(_ s: StringMatch) -> StringMatch {
            StringMatch(exact: nonEmpty(s.exact), prefix: nonEmpty(s.prefix), regex: nonEmpty(s.regex))
        }
        private static func nonEmpty(_ s: String?) -> String? { s?.isEmpty == true ? nil : s }
        private static func nonEmpty<C: Collection>(_ c: C?) -> C? { c?.isEmpty == true ? nil : c }
    }

    /// Istio names an HTTP rule or match by its quoted `name`, else by `#index`.
    static func routeName(_ name: String?, _ index: Int) -> String {
        if let name, !name.isEmpty { return IstioText.goQuoted(name) }
        return "#\(index)"
    }

    /// The first two checks, for one section (`http`, `tcp`, `tls`); `rules[i]` is rule i's
    /// match blocks, or nil when it has none.
    private static func unreachable(
        in vs: VirtualService, section: String, rules: [[MatchKey]?],
        ruleName: (Int) -> String, matchName: (Int, Int) -> String
    ) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        var firstRuleWithMatch: [MatchKey: Int] = [:]
        var catchAllSeen = false
        for (ruleIndex, matches) in rules.enumerated() {
            let rulePath: FieldPath = [.key(section), .index(ruleIndex)]
            func unused(_ reason: String) {
                messages.append(AnalysisMessage(
                    .virtualServiceUnreachableRule, vs, specField: rulePath, IstioText.unreachableRule(ruleName(ruleIndex), reason)))
            }
            guard let matches, !matches.isEmpty else {
                if catchAllSeen { unused("only the last rule can have no matches") }
                catchAllSeen = true
                continue
            }
            var duplicates = 0
            for (matchIndex, key) in matches.enumerated() {
                if catchAllSeen {
                    unused("route without matches defined before")
                    continue
                }
                if let earlier = firstRuleWithMatch[key] {
                    messages.append(AnalysisMessage(
                        .virtualServiceIneffectiveMatch, vs, specField: (rulePath / "match")[matchIndex],
                        IstioText.ineffectiveMatch(ruleName(ruleIndex), matchName(ruleIndex, matchIndex), ruleName(earlier))))
                    duplicates += 1
                } else {
                    firstRuleWithMatch[key] = ruleIndex
                }
            }
            if duplicates == matches.count { unused("all matches used by prior rules") }
        }
        return messages
    }

    /// What Istio's overlap check reads of an HTTP match with a URI prefix.
    private struct PrefixMatch {
        var ruleIndex: Int
        var matchIndex: Int
        var ruleName: String
        var matchName: String
        var prefix: String
        var port: UInt32
        var method: String
        var authority: String
        var headers: [String: String]
        var queryParams: [String: String]
        var withoutHeaders: [String: String]

        /// Istio's `coveredValidation`: whether `earlier` takes every request `self` would.
        /// The condition checks copy Istio's, including their direction.
        func isCovered(by earlier: PrefixMatch) -> Bool {
            guard prefix.hasPrefix(earlier.prefix), port == earlier.port else { return false }
            if earlier.method != method && !earlier.method.hasPrefix(method) { return false }
            if earlier.authority != authority && !earlier.authority.hasPrefix(authority) { return false }
            return Self.covers(earlier.headers, headers) && Self.covers(earlier.queryParams, queryParams)
                && Self.covers(earlier.withoutHeaders, withoutHeaders)
        }

        private static func covers(_ a: [String: String], _ b: [String: String]) -> Bool {
            guard a.count == b.count else { return false }
            return a.allSatisfy { key, value in
                guard let other = b[key] else { return false }
                return value == other || value.hasPrefix(other)
            }
        }
    }

    /// Istio's `exact:`/`prefix:` form of a string match (a regex counts as nothing).
    private static func exactOrPrefix(_ s: StringMatch?) -> String {
        if let exact = s?.exact, !exact.isEmpty { return "exact:" + exact }
        if let prefix = s?.prefix, !prefix.isEmpty { return "prefix:" + prefix }
        return ""
    }

    /// The third check: a URI-prefix match covered by an earlier one in the same VirtualService.
    private static func overlappingPrefixes(in vs: VirtualService) -> [AnalysisMessage] {
        let http = vs.spec.http ?? []
        var seen = Set<MatchKey>()
        var candidates: [PrefixMatch] = []
        var catchAllSeen = false
        for (ruleIndex, rule) in http.enumerated() {
            guard let matches = rule.match, !matches.isEmpty else {
                catchAllSeen = true
                continue
            }
            // Matches after a catch-all and exact duplicates are reported by the checks above.
            if catchAllSeen { continue }
            for (matchIndex, match) in matches.enumerated() {
                guard seen.insert(MatchKey(match)).inserted else { continue }
                guard let prefix = match.uri?.prefix, !prefix.isEmpty else { continue }
                let method = exactOrPrefix(match.method)
                candidates.append(PrefixMatch(
                    ruleIndex: ruleIndex, matchIndex: matchIndex,
                    ruleName: routeName(rule.name, ruleIndex), matchName: routeName(match.name, matchIndex), prefix: prefix,
                    port: match.port ?? 0,
                    // Istio takes a match without a method to be GET.
                    method: method.isEmpty ? "exact:GET" : method,
                    authority: exactOrPrefix(match.authority),
                    headers: (match.headers ?? [:]).mapValues(exactOrPrefix),
                    queryParams: (match.queryParams ?? [:]).mapValues(exactOrPrefix),
                    withoutHeaders: (match.withoutHeaders ?? [:]).mapValues(exactOrPrefix)))
            }
        }
        var messages: [AnalysisMessage] = []
        for (i, earlier) in candidates.enumerated() {
            for later in candidates[(i + 1)...] where later.prefix != earlier.prefix && later.isCovered(by: earlier) {
                messages.append(AnalysisMessage(
                    .virtualServiceIneffectiveMatch, vs, specField: ["http", .index(later.ruleIndex), "match", .index(later.matchIndex)],
                    IstioText.ineffectiveMatch(
                        later.ruleName, "\(later.matchName) of prefix \(later.prefix)",
                        "\(earlier.matchName) of prefix \(earlier.prefix) on \(earlier.ruleName)")))
            }
        }
        return messages
    }
}
