import Foundation
import MeshConfig

/// One HTTP rule of a VirtualService, checked and compiled once; `blocks(forPort:)` then keeps
/// the match blocks that apply on a given listener port.
struct RuleTemplate {
    let index: Int
    let route: HTTPRoute
    let ref: RouteRef
    let hasMatch: Bool
    /// Compiled blocks with what decides at build time whether they apply at all.
    private let candidates: [(block: MatchBlock, port: Int?, excluded: String?)]
    let timeout: IstioDuration?
    let retries: RetryPolicy
    let fault: FaultPolicy?
    let cors: CORSRule?
    let rewriteRegex: RE2Regex?
    let directResponseBody: String?
    /// False when the rule had an error (reported), so it is left out.
    let isValid: Bool
    /// The line the rule starts on, in the file of the VirtualService that wrote it.
    let line: Int

    /// `headerNames` collects the header names of the whole VirtualService: a condition's slot is
    /// its name's position there.
    init(
        vs: VirtualService, index: Int, route: HTTPRoute, source: (vs: VirtualService, index: Int)? = nil, options: RoutingOptions,
        headerNames: inout [String], diagnostics: inout [ConfigDiagnostic]
    ) {
        self.index = index
        self.route = route
        self.ref = RouteRef(virtualService: vs.qualifiedName, ruleIndex: index, ruleName: route.name)
        // Where the rule was written: the VirtualService itself, or a delegate merged into it.
        let origin = source?.vs ?? vs
        let base: FieldPath = ["http", .index(source?.index ?? index)]
        self.line = origin.location.line(forSpecPath: base)
        let errorsBefore = diagnostics.count

        let matches = route.match ?? []
        hasMatch = !matches.isEmpty
        var candidates: [(block: MatchBlock, port: Int?, excluded: String?)] = []
        for (i, match) in matches.enumerated() {
            if let block = RuleTemplate.compileBlock(
                match, index: i, field: FieldPath(base.components + [.key("match"), .index(i)]), vs: origin, headerNames: &headerNames,
                diagnostics: &diagnostics) {
                candidates.append((block, match.port.flatMap { $0 == 0 ? nil : Int($0) }, RuleTemplate.sourceExclusion(match, options: options)))
            }
        }
        self.candidates = candidates

        // Exactly one action (Istio's validation); delegates were merged in by DelegateMerger.
        let actions = [route.route.map { !$0.isEmpty } ?? false, route.redirect != nil, route.directResponse != nil, route.delegate != nil].filter { $0 }.count
        if route.delegate != nil {
            diagnostics.append(origin.diagnostic(.error, base / "delegate", "a delegate's rule cannot delegate again (Istio supports one level of delegation)"))
        } else if actions == 0 {
            diagnostics.append(origin.diagnostic(.error, base, "the rule has no route, redirect or directResponse"))
        } else if actions > 1 {
            diagnostics.append(origin.diagnostic(.error, base, "only one of route, redirect or directResponse may be set"))
        }
        if let destinations = route.route, destinations.count > 0 {
            for (i, destination) in destinations.enumerated() {
                if (destination.destination?.host ?? "").isEmpty {
                    diagnostics.append(origin.diagnostic(.error, FieldPath(base.components + [.key("route"), .index(i), .key("destination"), .key("host")]), "destination host is required"))
                }
                if let weight = destination.weight, weight < 0 {
                    diagnostics.append(origin.diagnostic(.error, FieldPath(base.components + [.key("route"), .index(i), .key("weight")]), "weight \(weight) < 0"))
                }
            }
            if destinations.count > 1 && destinations.allSatisfy({ ($0.weight ?? 0) <= 0 }) {
                diagnostics.append(origin.diagnostic(.error, base / "route", "total destination weight is 0: with several destinations an omitted weight is 0, so nothing could be chosen"))
            }
        }
        if let code = route.redirect?.redirectCode, ![301, 302, 303, 307, 308].contains(code) {
            diagnostics.append(origin.diagnostic(.error, base / "redirect" / "redirectCode", "redirect code \(code) is not supported (301, 302, 303, 307 or 308)"))
        }
        var body: String? = nil
        if let direct = route.directResponse {
            if let status = direct.status, !(200...599).contains(status) {
                diagnostics.append(origin.diagnostic(.error, base / "directResponse" / "status", "status \(status) is not in 200…599"))
            } else if direct.status == nil {
                diagnostics.append(origin.diagnostic(.error, base / "directResponse" / "status", "status is required"))
            }
            if let text = direct.body?.string {
                body = text
            } else if let encoded = direct.body?.bytes {
                if let data = Data(base64Encoded: encoded) {
                    body = String(decoding: data, as: UTF8.self)
                } else {
                    diagnostics.append(origin.diagnostic(.error, base / "directResponse" / "body" / "bytes", "not valid base64"))
                }
            }
        }
        directResponseBody = body

        var rewriteRegex: RE2Regex? = nil
        if let regexRewrite = route.rewrite?.uriRegexRewrite, let pattern = regexRewrite.match {
            do {
                rewriteRegex = try RE2Regex(pattern)
            } catch {
                diagnostics.append(origin.diagnostic(.error, base / "rewrite" / "uriRegexRewrite" / "match", "\(error)"))
            }
        }
        self.rewriteRegex = rewriteRegex
        // Istio: no timeout unless set; 0s also means none.
        timeout = route.timeout.flatMap { $0.nanoseconds > 0 ? $0 : nil }
        retries = RetryPolicy.converting(route.retries)
        fault = FaultPolicy(route.fault)
        cors = CORSRule(route.corsPolicy, field: base / "corsPolicy", resource: origin, diagnostics: &diagnostics)
        isValid = diagnostics.count == errorsBefore
    }

    /// The blocks that apply on `port`, or why the rule cannot apply there (Istio drops a match
    /// whose `port` is another listener's, or whose source is not this client).
    func blocks(forPort port: Int) -> ([MatchBlock], String?) {
        guard hasMatch else { return ([], nil) }
        var kept: [MatchBlock] = []
        var reasons: [String] = []
        for candidate in candidates {
            if let excluded = candidate.excluded {
                reasons.append("match[\(candidate.block.index)]: \(excluded)")
            } else if let required = candidate.port, required != port {
                reasons.append("match[\(candidate.block.index)]: port \(required), not \(port)")
            } else {
                kept.append(candidate.block)
            }
        }
        if kept.isEmpty { return ([], reasons.isEmpty ? "no match block compiled" : reasons.joined(separator: "; ")) }
        return (kept, nil)
    }

    /// Istio's sourceMatchHTTP: a block naming gateways applies to sidecars only if one is
    /// `mesh`; otherwise its sourceLabels must be among the client's labels and its
    /// sourceNamespace the client's namespace.
    static func sourceExclusion(_ match: HTTPMatchRequest, options: RoutingOptions) -> String? {
        if let gateways = match.gateways, !gateways.isEmpty {
            return gateways.contains("mesh") ? nil : "gateways \(gateways.joined(separator: ", ")) exclude mesh (sidecar traffic)"
        }
        if let labels = match.sourceLabels, !labels.allSatisfy({ options.clientLabels[$0.key] == $0.value }) {
            let text = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return "sourceLabels \(text) do not select the client (meshsim's client has labels \(options.clientLabels.isEmpty ? "none" : options.clientLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")))"
        }
        if let namespace = match.sourceNamespace, !namespace.isEmpty, namespace != options.clientNamespace {
            return "sourceNamespace \(namespace) is not the client's (\(options.clientNamespace))"
        }
        return nil
    }

    static func compileBlock(
        _ match: HTTPMatchRequest, index: Int, field: FieldPath, vs: VirtualService, headerNames: inout [String],
        diagnostics: inout [ConfigDiagnostic]
    ) -> MatchBlock? {
        func slot(_ name: String) -> Int {
            if let i = headerNames.firstIndex(of: name) { return i }
            headerNames.append(name)
            return headerNames.count - 1
        }
        let path = field
        let before = diagnostics.count
        func compile(_ m: StringMatch?, _ key: String, ignoringCase: Bool = false) -> ByteMatcher? {
            guard let m else { return nil }
            return ByteMatcher.compile(m, ignoringCase: ignoringCase, field: path / key, resource: vs, diagnostics: &diagnostics)
        }
        // Evaluation order: uri, method, authority, scheme, headers, withoutHeaders, queryParams.
        var conditions: [MatchCondition] = []
        func add(_ subject: MatchCondition.Subject, _ m: StringMatch?, _ field: FieldPath, ignoringCase: Bool = false, inverted: Bool = false) {
            guard let m, let matcher = ByteMatcher.compile(m, ignoringCase: ignoringCase, field: field, resource: vs, diagnostics: &diagnostics) else { return }
            conditions.append(MatchCondition(subject: subject, matcher: matcher, inverted: inverted))
        }
        // ignoreUriCase applies to exact and prefix only; Envoy ignores it for regexes.
        add(.path, match.uri, path / "uri", ignoringCase: match.ignoreUriCase ?? false)
        add(.method, match.method, path / "method")
        add(.authority, match.authority, path / "authority")
        add(.scheme, match.scheme, path / "scheme")
        for (name, m) in (match.headers ?? [:]).sorted(by: { $0.key < $1.key }) {
            add(.header(name: name.lowercased(), slot: slot(name.lowercased())), m, path / "headers" / name)
        }
        for (name, m) in (match.withoutHeaders ?? [:]).sorted(by: { $0.key < $1.key }) {
            add(.header(name: name.lowercased(), slot: slot(name.lowercased())), m, path / "withoutHeaders" / name, inverted: true)
        }
        for (name, m) in (match.queryParams ?? [:]).sorted(by: { $0.key < $1.key }) {
            add(.query(name: name), m, path / "queryParams" / name)
        }
        guard diagnostics.count == before else { return nil }
        return MatchBlock(index: index, name: match.name, conditions: conditions)
    }
}
