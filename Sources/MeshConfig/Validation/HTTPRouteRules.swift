/// Istio's validation of one VirtualService `http` route: which actions may be combined, its
/// matches, header operations, CORS, fault injection, mirrors, redirect, direct response, retries,
/// rewrite, destinations and timeout.
enum HTTPRouteRules {
    /// A route of a VirtualService with hosts (independent, or a root when it delegates), or of a
    /// delegate VirtualService (one without hosts).
    enum Kind { case independent, root, delegate }

    static func validate(_ route: HTTPRoute, inDelegate: Bool, gatewaySemantics: Bool, at path: FieldPath, into findings: inout ValidationFindings) {
        let kind: Kind = inDelegate ? .delegate : (route.delegate != nil ? .root : .independent)
        conflicts(route, kind: kind, at: path, into: &findings)
        matches(route, at: path, into: &findings)
        HeaderRules.validate(route.headers, at: path / "headers", into: &findings)
        cors(route.corsPolicy, at: path / "corsPolicy", into: &findings)
        // Istio merges the fault's findings through its error-only path: an abort without an error
        // type warns on its own, but not in a whole VirtualService.
        var faultFindings = ValidationFindings()
        FaultRules.validate(route.fault, at: path / "fault", into: &faultFindings)
        findings.mergeErrors(of: faultFindings)
        mirrorShares(route, at: path, into: &findings)
        CommonRules.destination(route.mirror, at: path / "mirror", into: &findings)
        mirrors(route.mirrors, at: path / "mirrors", into: &findings)
        redirect(route.redirect, matches: route.match ?? [], at: path / "redirect", into: &findings)
        directResponse(route.directResponse, at: path / "directResponse", into: &findings)
        retries(route.retries, at: path / "retries", into: &findings)
        rewrite(route.rewrite, at: path / "rewrite", into: &findings)
        authorityRewrite(route, at: path, into: &findings)
        destinations(route.route, gatewaySemantics: gatewaySemantics, at: path / "route", into: &findings)
        if let timeout = route.timeout {
            findings.add(CommonRules.duration(timeout), at: path / "timeout")
        }
    }

    /// A route does one thing: forward (`route`), `redirect`, `directResponse`, or `delegate`.
    static func conflicts(_ route: HTTPRoute, kind: Kind, at path: FieldPath, into findings: inout ValidationFindings) {
        let name = route.name ?? ""
        if kind == .root {
            if route.redirect != nil { findings.error(path / "redirect", "root HTTP route \(name) must not specify redirect") }
            // `route: []` is unset once Istio has read it into protobuf.
            if !(route.route ?? []).isEmpty { findings.error(path / "route", "root HTTP route \(name) must not specify route") }
            return
        }
        if kind == .delegate && route.delegate != nil {
            findings.error(path / "delegate", "delegate HTTP route cannot contain delegate")
        }
        let forwards = !(route.route ?? []).isEmpty
        if route.redirect != nil {
            if forwards { findings.error(path / "route", "HTTP route cannot contain both route and redirect") }
            if route.fault != nil { findings.error(path / "fault", "HTTP route cannot contain both fault and redirect") }
            if route.rewrite != nil { findings.error(path / "rewrite", "HTTP route rule cannot contain both rewrite and redirect") }
            if route.directResponse != nil { findings.error(path / "directResponse", "HTTP route rule cannot contain both direct_response and redirect") }
        } else if route.directResponse != nil {
            if forwards { findings.error(path / "route", "HTTP route cannot contain both route and direct_response") }
            if route.fault != nil { findings.error(path / "fault", "HTTP route cannot contain both fault and direct_response") }
            if route.rewrite != nil { findings.error(path / "rewrite", "HTTP route rule cannot contain both rewrite and direct_response") }
        } else if !forwards {
            findings.error(path, "HTTP route, redirect or direct_response is required")
        }
        if route.mirror != nil && !(route.mirrors ?? []).isEmpty {
            findings.error(path / "mirrors", "HTTP route cannot contain both mirror and mirrors")
        }
    }

    static func matches(_ route: HTTPRoute, at path: FieldPath, into findings: inout ValidationFindings) {
        let matches = route.match ?? []
        for (j, match) in matches.enumerated() {
            let matchPath = (path / "match")[j]
            for name in (match.headers ?? [:]).keys.sorted() {
                findings.add(HeaderRules.matchHeaderName(name), at: matchPath / "headers" / name)
                StringMatchRules.validate(match.headers?[name], where: "headers", at: matchPath / "headers" / name, into: &findings)
            }
            for name in (match.withoutHeaders ?? [:]).keys.sorted() {
                findings.add(HeaderRules.matchHeaderName(name), at: matchPath / "withoutHeaders" / name)
                // `regex: "*"` is not a regex: Istio turns it into a presence match.
                if let header = match.withoutHeaders?[name], header.regex != "*" {
                    StringMatchRules.validate(header, where: "withoutHeaders", at: matchPath / "withoutHeaders" / name, into: &findings)
                }
            }
            StringMatchRules.validateRegex(of: match.uri, where: "uri", at: matchPath / "uri", into: &findings)
            StringMatchRules.validate(match.scheme, where: "scheme", at: matchPath / "scheme", into: &findings)
            StringMatchRules.validate(match.method, where: "method", at: matchPath / "method", into: &findings)
            StringMatchRules.validate(match.authority, where: "authority", at: matchPath / "authority", into: &findings)
            for name in (match.queryParams ?? [:]).keys.sorted() {
                StringMatchRules.validate(match.queryParams?[name], where: "queryParams", at: matchPath / "queryParams" / name, into: &findings)
            }
        }
        for (j, match) in matches.enumerated() {
            let matchPath = (path / "match")[j]
            if let port = match.port, port != 0 {
                findings.add(NameRules.port(Int(port)), at: matchPath / "port")
            }
            findings.add(NameRules.labelProblems(match.sourceLabels), at: matchPath / "sourceLabels")
            // Istio merges these through its error-only path: no legacy-name warning for a match.
            var gatewayFindings = ValidationFindings()
            CommonRules.gatewayNames(match.gateways, gatewaySemantics: false, at: matchPath / "gateways", into: &gatewayFindings)
            findings.mergeErrors(of: gatewayFindings)
            if let namespace = match.sourceNamespace, !namespace.isEmpty, !NameRules.isDNS1123Label(namespace) {
                findings.error(matchPath / "sourceNamespace", "sourceNamespace match \(namespace) is invalid")
            }
        }
    }

    static let corsMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"]

    static func cors(_ policy: CorsPolicy?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let policy else { return }
        for (i, origin) in (policy.allowOrigins ?? []).enumerated() {
            if let problem = StringMatchRules.oneOfProblem(origin) {
                findings.error((path / "allowOrigins")[i], problem)
                continue
            }
            let value = origin.exact ?? origin.prefix ?? origin.regex ?? ""
            if value.isEmpty {
                findings.error((path / "allowOrigins")[i], "'\(value)' is not a valid match type for CORS allow origins")
            } else {
                StringMatchRules.validateRegex(of: origin, where: "corsPolicy.allowOrigins", at: (path / "allowOrigins")[i], into: &findings)
            }
        }
        for (i, method) in (policy.allowMethods ?? []).enumerated() where !corsMethods.contains(method) {
            findings.error((path / "allowMethods")[i], "\(NameRules.goQuoted(method)) is not a supported HTTP method")
        }
        for (i, name) in (policy.allowHeaders ?? []).enumerated() {
            findings.add(HeaderRules.corsHeaderName(name), at: (path / "allowHeaders")[i])
        }
        for (i, name) in (policy.exposeHeaders ?? []).enumerated() {
            findings.add(HeaderRules.corsHeaderName(name), at: (path / "exposeHeaders")[i])
        }
        if let maxAge = policy.maxAge {
            findings.add(CommonRules.duration(maxAge), at: path / "maxAge")
            if maxAge.nanoseconds % 1_000_000_000 > 0 {
                findings.error(path / "maxAge", "max_age duration is accurate only to seconds precision")
            }
        }
    }

    static func mirrorShares(_ route: HTTPRoute, at path: FieldPath, into findings: inout ValidationFindings) {
        if let percent = route.mirrorPercent {
            if percent > 100 {
                findings.error(path / "mirrorPercent", "mirror_percent must have a max value of 100 (it has \(percent))")
            }
            findings.warning(path / "mirrorPercent", "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead")
        }
        if let value = route.mirrorPercentage?.value {
            if value > 100 {
                findings.error(path / "mirrorPercentage", "mirror_percentage must have a max value of 100 (it has \(CommonRules.goFixed(value)))")
            }
            if value < 0 {
                findings.error(path / "mirrorPercentage", "mirror_percentage must have a min value of 0 (it has \(CommonRules.goFixed(value)))")
            }
        }
    }

    static func mirrors(_ mirrors: [HTTPMirrorPolicy]?, at path: FieldPath, into findings: inout ValidationFindings) {
        for (i, mirror) in (mirrors ?? []).enumerated() {
            guard let destination = mirror.destination else {
                findings.error(path[i] / "destination", "destination is required for mirrors")
                continue
            }
            CommonRules.destination(destination, at: path[i] / "destination", into: &findings)
            if let value = mirror.percentage?.value {
                if value > 100 {
                    findings.error(path[i] / "percentage", "mirror percentage must have a max value of 100 (it has \(CommonRules.goFixed(value)))")
                }
                if value < 0 {
                    findings.error(path[i] / "percentage", "mirror percentage must have a min value of 0 (it has \(CommonRules.goFixed(value)))")
                }
            }
        }
    }

    /// Like Istio, reports only the first problem of a redirect.
    static func redirect(_ redirect: HTTPRedirect?, matches: [HTTPMatchRequest], at path: FieldPath, into findings: inout ValidationFindings) {
        guard let redirect else { return }
        if redirect.port != nil && redirect.derivePort != nil {
            findings.error(path, "only one of port or derivePort may be set")
            return
        }
        let uri = redirect.uri ?? "", prefixRewrite = redirect.prefixRewrite ?? ""
        if !uri.isEmpty && !prefixRewrite.isEmpty {
            findings.error(path, "redirect may only specify one of uri or prefix_rewrite")
            return
        }
        if !prefixRewrite.isEmpty && matches.contains(where: { $0.uri != nil && $0.uri?.prefix == nil }) {
            findings.error(path / "prefixRewrite", "redirect prefix_rewrite requires all URI matches to use prefix match type")
            return
        }
        let hasPort = redirect.port != nil || redirect.derivePort != nil
        if uri.isEmpty && prefixRewrite.isEmpty && (redirect.authority ?? "").isEmpty && !hasPort && (redirect.scheme ?? "").isEmpty {
            findings.error(path, "redirect must specify URI, authority, scheme, or port")
            return
        }
        if let code = redirect.redirectCode, code != 0, !(300...399).contains(code) {
            findings.error(path / "redirectCode", "\(code) is not a valid redirect code, must be 3xx")
            return
        }
        if let scheme = redirect.scheme, !scheme.isEmpty, scheme != "http", scheme != "https" {
            findings.error(path / "scheme", "invalid redirect scheme, must be \"http\" or \"https\"")
            return
        }
        if let port = redirect.port, port > 0 {
            findings.add(NameRules.port(Int(port)), at: path / "port")
        }
    }

    static let largeBodyWarning = 100 * 1024
    static let largeBodyLimit = 1024 * 1024

    static func directResponse(_ response: HTTPDirectResponse?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let response else { return }
        if let body = response.body {
            var size = 0
            if body.string != nil && body.bytes != nil {
                findings.error(path / "body", "only one of string or bytes may be set")
            } else if let string = body.string {
                size = string.utf8.count
            } else if let bytes = body.bytes {
                if let decoded = Base64.decodedCount(bytes) {
                    size = decoded
                } else {
                    findings.error(path / "body" / "bytes", "bytes must be base64 encoded")
                }
            }
            if size > largeBodyLimit {
                findings.error(path / "body", "large direct_responses may impact control plane performance, must be less than 1MB")
            } else if size > largeBodyWarning {
                findings.warning(path / "body", "large direct_responses may impact control plane performance")
            }
        }
        findings.add(FaultRules.httpStatus(Int64(response.status ?? 0)), at: path / "status")
    }

    /// Envoy's `x-envoy-retry-on` and `x-envoy-retry-grpc-on` conditions.
    static let retryOnPolicies: Set<String> = [
        "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream",
        "retriable-status-codes", "retriable-headers", "envoy-ratelimited", "http3-post-connect-failure",
        "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
    ]

    /// Status codes Go's net/http names (http.StatusText is not empty), which Istio accepts in retryOn.
    static let namedHTTPStatuses: Set<Int> = Set([100, 101, 102, 103, 226, 300, 301, 302, 303, 304, 305, 307, 308, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 510, 511])
        .union(200...208).union(400...418).union(500...508)

    static func retries(_ retry: HTTPRetry?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let retry else { return }
        let attempts = retry.attempts ?? 0
        if attempts < 0 { findings.error(path / "attempts", "attempts cannot be negative") }
        if attempts == 0 && (retry.perTryTimeout != nil || !(retry.retryOn ?? "").isEmpty || retry.retryRemoteLocalities != nil) {
            findings.error(path / "attempts", "http retry policy configured when attempts are set to 0 (disabled)")
        }
        if let perTryTimeout = retry.perTryTimeout {
            findings.add(CommonRules.duration(perTryTimeout), at: path / "perTryTimeout")
        }
        if let retryOn = retry.retryOn, !retryOn.isEmpty {
            for policy in retryOn.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                let isStatus = Int(policy).map { namedHTTPStatuses.contains($0) } ?? false
                if !isStatus && !retryOnPolicies.contains(policy) {
                    findings.error(path / "retryOn", "\(NameRules.goQuoted(policy)) is not a valid retryOn policy")
                }
            }
        }
        if let backoff = retry.backoff {
            findings.add(CommonRules.duration(backoff), at: path / "backoff")
        }
    }

    static func rewrite(_ rewrite: HTTPRewrite?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let rewrite else { return }
        let uri = rewrite.uri ?? ""
        if !uri.isEmpty && rewrite.uriRegexRewrite != nil {
            findings.error(path, "rewrite may only contain one of URI or UriRegexRewrite")
            return
        }
        if uri.isEmpty && rewrite.uriRegexRewrite == nil && (rewrite.authority ?? "").isEmpty {
            findings.error(path, "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified")
            return
        }
        if let problem = uriRegexRewriteProblem(rewrite.uriRegexRewrite) {
            findings.error(path / "uriRegexRewrite", "UriRegexRewrite has errors: \(problem)")
        }
    }

    static func uriRegexRewriteProblem(_ regexRewrite: RegexRewrite?) -> String? {
        guard let regexRewrite else { return nil }
        let match = regexRewrite.match ?? "", replacement = regexRewrite.rewrite ?? ""
        if match.isEmpty || replacement.isEmpty {
            return "UriRegexRewrite requires both Rewrite and Match fields to be specified"
        }
        return StringMatchRules.regexProblem(match, where: "HTTPRewrite.UriRegexRewrite.Match")
    }

    /// The authority may be rewritten in one place only: `rewrite.authority` or one
    /// `:authority`/`host` header set or add.
    static func authorityRewrite(_ route: HTTPRoute, at path: FieldPath, into findings: inout ValidationFindings) {
        var current = route.rewrite?.authority ?? ""
        let request = route.headers?.request
        for (operation, values) in [("set", request?.set ?? [:]), ("add", request?.add ?? [:])] {
            for name in values.keys.sorted() where HeaderRules.isAuthorityHeader(name) {
                let value = values[name] ?? ""
                if !current.isEmpty {
                    findings.error(path / "headers" / "request" / operation / name,
                                   "authority header cannot be set multiple times: have \(NameRules.goQuoted(current)), attempting to set \(NameRules.goQuoted(value))")
                    return
                }
                current = value
            }
        }
    }

    static func destinations(_ destinations: [HTTPRouteDestination]?, gatewaySemantics: Bool, at path: FieldPath, into findings: inout ValidationFindings) {
        let destinations = destinations ?? []
        var totalWeight: Int32 = 0
        for (i, weighted) in destinations.enumerated() {
            if weighted.destination == nil { findings.error(path[i] / "destination", "destination is required") }
            HeaderRules.validate(weighted.headers, at: path[i] / "headers", into: &findings)
            if !gatewaySemantics {
                CommonRules.destination(weighted.destination, at: path[i] / "destination", into: &findings)
            }
            let weight = weighted.weight ?? 0
            if weight < 0 { findings.error(path[i] / "weight", "weight \(weight) < 0") }
            totalWeight &+= weight  // Istio sums in int32, wrapping
        }
        if destinations.count > 1 && totalWeight == 0 {
            findings.error(path, "total destination weight = 0")
        }
    }
}

/// Decoding-free checks on protobuf's base64 text for `bytes` fields.
enum Base64 {
    /// The decoded length of standard or URL-safe base64 (padding optional), or nil if malformed.
    static func decodedCount(_ text: String) -> Int? {
        var count = 0
        var padding = 0
        for scalar in text.unicodeScalars {
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", "+", "/", "-", "_":
                guard padding == 0 else { return nil }
                count += 1
            case "=":
                padding += 1
            case "\n", "\r", " ":
                continue
            default:
                return nil
            }
        }
        guard padding <= 2, count % 4 != 1 else { return nil }
        if padding > 0 && (count + padding) % 4 != 0 { return nil }
        return count * 3 / 4
    }
}
