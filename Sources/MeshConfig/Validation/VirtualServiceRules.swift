/// Istio's ValidateVirtualService: hosts, gateways, delegate restrictions, every http/tls/tcp
/// route, exportTo, and the warnings about rules and matches that can never be used.
enum VirtualServiceRules {
    static let meshGateway = "mesh"
    /// Set by Istio on VirtualServices it derives from Gateway API routes.
    static let routeSemanticsAnnotation = "internal.istio.io/route-semantics"

    static func validate(_ spec: VirtualServiceSpec, namespace: String, annotations: [String: String], into findings: inout ValidationFindings) {
        let hosts = spec.hosts ?? [], gateways = spec.gateways ?? []
        let http = spec.http ?? [], tls = spec.tls ?? [], tcp = spec.tcp ?? []
        if hosts.isEmpty {
            // A VirtualService without hosts is a delegate, reachable only from a root's `delegate`.
            if !gateways.isEmpty { findings.error(["gateways"], "delegate virtual service must have no gateways specified") }
            if !tls.isEmpty { findings.error(["tls"], "delegate virtual service must have no tls route specified") }
            if !tcp.isEmpty { findings.error(["tcp"], "delegate virtual service must have no tcp route specified") }
        }
        let gatewaySemantics = annotations[routeSemanticsAnnotation] == "gateway"

        var appliesToMesh = true, appliesToGateway = false
        if !gateways.isEmpty {
            CommonRules.gatewayNames(gateways, gatewaySemantics: gatewaySemantics, at: ["gateways"], into: &findings)
            appliesToGateway = !gateways.contains(meshGateway)
            appliesToMesh = !appliesToGateway
        }
        if !appliesToGateway {
            jwtClaimRoutes(http, gateways: gateways, into: &findings)
        }
        validateHosts(hosts, spec: spec, appliesToMesh: appliesToMesh, appliesToGateway: appliesToGateway, into: &findings)

        if http.isEmpty && tcp.isEmpty && tls.isEmpty {
            findings.error(.root, "http, tcp or tls must be provided in virtual service")
        }
        for (i, route) in http.enumerated() {
            HTTPRouteRules.validate(route, inDelegate: hosts.isEmpty, gatewaySemantics: gatewaySemantics, at: ["http", .index(i)], into: &findings)
        }
        for (i, route) in tls.enumerated() {
            tlsRoute(route, spec: spec, gatewaySemantics: gatewaySemantics, at: ["tls", .index(i)], into: &findings)
        }
        for (i, route) in tcp.enumerated() {
            tcpRoute(route, gatewaySemantics: gatewaySemantics, at: ["tcp", .index(i)], into: &findings)
        }
        CommonRules.exportTo(spec.exportTo, namespace: namespace, isServiceEntry: false, isDestinationRuleWithSelector: false, at: ["exportTo"], into: &findings)
        UnreachableRules.analyze(spec, into: &findings)
    }

    /// Routing on `@request.auth.claims.*` needs a gateway's JWT filter; sidecars cannot do it.
    static func jwtClaimRoutes(_ http: [HTTPRoute], gateways: [String], into findings: inout ValidationFindings) {
        let gatewayList = "[" + gateways.joined(separator: " ") + "]"
        for (i, route) in http.enumerated() {
            for (j, match) in (route.match ?? []).enumerated() {
                for (field, headers) in [("headers", match.headers), ("withoutHeaders", match.withoutHeaders)] {
                    for name in (headers ?? [:]).keys.sorted() where HeaderRules.isJWTClaimRoute(name) {
                        findings.error(["http", .index(i), "match", .index(j), .key(field), .key(name)],
                                       "JWT claim based routing (key: \(name)) is only supported for gateway, found no gateways: \(gatewayList)")
                    }
                }
            }
        }
    }

    static func validateHosts(_ hosts: [String], spec: VirtualServiceSpec, appliesToMesh: Bool, appliesToGateway: Bool, into findings: inout ValidationFindings) {
        var allHostsValid = true
        for (i, host) in hosts.enumerated() {
            let problem = appliesToGateway
                ? NameRules.wildcardDomainForGateway(sni: hasSNIHosts(spec), host) : NameRules.wildcardDomain(host)
            if let problem {
                if !AddressRules.isIPAddress(host) {
                    findings.error(["hosts", .index(i)], problem)
                    allHostsValid = false
                }
            } else if appliesToMesh && host == "*" {
                findings.error(["hosts", .index(i)], "wildcard host * is not allowed for virtual services bound to the mesh gateway")
                allHostsValid = false
            }
        }
        guard allHostsValid else { return }
        // `*.foo.com` and `*.com` are duplicates too: one includes the other.
        for i in hosts.indices {
            for j in hosts.indices where j > i && istioHostsMatch(hosts[i], hosts[j]) {
                findings.error(["hosts", .index(j)], "duplicate hosts in virtual service: \(hosts[i]) & \(hosts[j])")
            }
        }
    }

    /// Istio's host.Name.Matches: case-sensitive, a wildcard covers its suffix.
    static func istioHostsMatch(_ a: String, _ b: String) -> Bool {
        switch (a.hasPrefix("*"), b.hasPrefix("*")) {
        case (true, true):
            let sa = a.dropFirst(), sb = b.dropFirst()
            return a.count < b.count ? sb.hasSuffix(sa) : sa.hasSuffix(sb)
        case (true, false): return b.hasSuffix(a.dropFirst())
        case (false, true): return a.hasSuffix(b.dropFirst())
        case (false, false): return a == b
        }
    }

    /// Istio's host.Name.SubsetOf: every name `a` covers is covered by `b`.
    static func istioHostIsSubset(_ a: String, of b: String) -> Bool {
        switch (a.hasPrefix("*"), b.hasPrefix("*")) {
        case (true, true): return a.count >= b.count && a.dropFirst().hasSuffix(b.dropFirst())
        case (true, false): return false
        case (false, true): return a.hasSuffix(b.dropFirst())
        case (false, false): return a == b
        }
    }

    static func hasSNIHosts(_ spec: VirtualServiceSpec) -> Bool {
        (spec.tls ?? []).contains { route in (route.match ?? []).contains { !($0.sniHosts ?? []).isEmpty } }
    }

    static func tlsRoute(_ route: TLSRoute, spec: VirtualServiceSpec, gatewaySemantics: Bool, at path: FieldPath, into findings: inout ValidationFindings) {
        let matches = route.match ?? []
        if matches.isEmpty { findings.error(path / "match", "TLS route must have at least one match condition") }
        for (j, match) in matches.enumerated() {
            let matchPath = (path / "match")[j]
            let sniHosts = match.sniHosts ?? []
            if sniHosts.isEmpty {
                findings.error(matchPath / "sniHosts", "TLS match must have at least one SNI host")
            }
            for (k, sniHost) in sniHosts.enumerated() {
                self.sniHost(sniHost, spec: spec, at: (matchPath / "sniHosts")[k], into: &findings)
            }
            for (k, subnet) in (match.destinationSubnets ?? []).enumerated() {
                findings.add(AddressRules.ipSubnet(subnet), at: (matchPath / "destinationSubnets")[k])
            }
            if let port = match.port, port != 0 { findings.add(NameRules.port(Int(port)), at: matchPath / "port") }
            findings.add(NameRules.labelProblems(match.sourceLabels), at: matchPath / "sourceLabels")
            CommonRules.gatewayNames(match.gateways, gatewaySemantics: false, at: matchPath / "gateways", into: &findings)
        }
        if (route.route ?? []).isEmpty { findings.error(path / "route", "TLS route is required") }
        routeDestinations(route.route, gatewaySemantics: gatewaySemantics, at: path / "route", into: &findings)
    }

    /// An SNI host must be a (wildcard) domain that falls under one of the VirtualService's hosts.
    static func sniHost(_ sniHost: String, spec: VirtualServiceSpec, at path: FieldPath, into findings: inout ValidationFindings) {
        // Istio decides "bound to a gateway" here by the absence of `mesh` alone, so a VirtualService
        // without gateways takes the gateway rule too.
        let boundToGateway = !(spec.gateways ?? []).contains(meshGateway)
        let problem = boundToGateway ? NameRules.wildcardDomainForGateway(sni: true, sniHost) : NameRules.wildcardDomain(sniHost)
        if let problem {
            if AddressRules.isIPAddress(sniHost) {
                findings.warning(path, "using an IP address (\(NameRules.goQuoted(sniHost))) goes against SNI spec and most clients do not support this")
            } else {
                findings.error(path, problem)
            }
            return
        }
        let hosts = spec.hosts ?? []
        if hosts.contains(where: { istioHostIsSubset(sniHost, of: $0) }) { return }
        findings.error(path, "SNI host \(NameRules.goQuoted(sniHost)) is not a compatible subset of any of the virtual service hosts: [\(hosts.joined(separator: ", "))]")
    }

    static func tcpRoute(_ route: TCPRoute, gatewaySemantics: Bool, at path: FieldPath, into findings: inout ValidationFindings) {
        for (j, match) in (route.match ?? []).enumerated() {
            let matchPath = (path / "match")[j]
            for (k, subnet) in (match.destinationSubnets ?? []).enumerated() {
                findings.add(AddressRules.ipSubnet(subnet), at: (matchPath / "destinationSubnets")[k])
            }
            if let port = match.port, port != 0 { findings.add(NameRules.port(Int(port)), at: matchPath / "port") }
            findings.add(NameRules.labelProblems(match.sourceLabels), at: matchPath / "sourceLabels")
            // Istio's TCP route validation returns errors only: no legacy-name warning (TLS keeps it).
            var gatewayFindings = ValidationFindings()
            CommonRules.gatewayNames(match.gateways, gatewaySemantics: false, at: matchPath / "gateways", into: &gatewayFindings)
            findings.mergeErrors(of: gatewayFindings)
        }
        if (route.route ?? []).isEmpty { findings.error(path / "route", "TCP route is required") }
        routeDestinations(route.route, gatewaySemantics: gatewaySemantics, at: path / "route", into: &findings)
    }

    static func routeDestinations(_ destinations: [RouteDestination]?, gatewaySemantics: Bool, at path: FieldPath, into findings: inout ValidationFindings) {
        let destinations = destinations ?? []
        var totalWeight: Int32 = 0
        for (i, weighted) in destinations.enumerated() {
            if weighted.destination == nil { findings.error(path[i] / "destination", "destination is required") }
            if !gatewaySemantics {
                CommonRules.destination(weighted.destination, at: path[i] / "destination", into: &findings)
            }
            let weight = weighted.weight ?? 0
            if weight < 0 { findings.error(path[i] / "weight", "weight \(weight) < 0") }
            totalWeight &+= weight
        }
        if destinations.count > 1 && totalWeight == 0 {
            findings.error(path, "total destination weight = 0")
        }
    }
}
