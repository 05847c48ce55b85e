import Foundation
import MeshConfig

/// Turns resources into route tables, domains and clusters, the way istiod builds a sidecar's
/// outbound HTTP routes (`pilot/pkg/networking/core/route/route.go`,
/// `BuildSidecarVirtualHostWrapper`):
/// - a VirtualService applies to sidecars when its `gateways` is empty or names `mesh`, and it
///   is exported to the client's namespace;
/// - each host of it binds to the registry service of that name (wildcards to every service
///   they cover, the most specific wildcard winning); a host no service has gets a virtual host
///   on port 80 only, as Istio does for non-registry hosts;
/// - when two VirtualServices name the same host, the first in Istio's precedence wins (private
///   to the client's namespace, then exported to it, then public; within each, the oldest
///   `creationTimestamp`, then name, then namespace): Istio drops the duplicate domain and does
///   not merge them for sidecars (IST0109);
/// - a service without a VirtualService that has a rule for the client on a port gets Istio's
///   default route there: its whole-service cluster.
struct SnapshotCompiler {
    let resources: MeshResources
    let options: RoutingOptions
    let registry: ServiceRegistry
    let addresses: [String: EndpointAddress]
    let destinationRules: DestinationRuleIndex

    var errors: [ConfigDiagnostic] = []
    var notes: [ConfigDiagnostic] = []
    var clusters: [String: Cluster] = [:]
    var clusterOrder: [Cluster] = []
    var tables: [RouteTable] = []
    var domains: [String: Int] = [:]
    var patterns: [PatternDomain] = []
    var slotCount = 0
    var virtualServiceInfos: [VirtualServiceInfo] = []

    /// Registry services by lower-cased exact hostname.
    private let servicesByHost: [String: MeshService]
    /// The registry services exported to the client's namespace: the sidecar's scope.
    private let visibleServices: [MeshService]
    /// Lower-cased hostnames every declaration of which hides from the client (istiod builds
    /// neither a virtual host nor a cluster for them).
    let hiddenHosts: Set<String>

    init(resources: MeshResources, options: RoutingOptions, addresses: [String: EndpointAddress]) {
        self.resources = resources
        self.options = options
        self.addresses = addresses
        self.registry = ServiceRegistry(resources)
        self.destinationRules = DestinationRuleIndex(resources.destinationRules, options: options)
        // A service's exportTo: the ServiceEntry's, or the Service's networking.istio.io/exportTo
        // annotation; visible when any declaration of the host is exported to the client.
        var visibleHosts: Set<String> = []
        var declaredHosts: Set<String> = []
        let client = options.clientNamespace
        for entry in resources.serviceEntries {
            for host in entry.spec.hosts ?? [] {
                declaredHosts.insert(host.lowercased())
                if Visibility.isExported(entry.spec.exportTo, from: entry.namespace, to: client) { visibleHosts.insert(host.lowercased()) }
            }
        }
        for service in resources.services {
            let host = HostName.fullyQualified(service.name, namespace: service.namespace).lowercased()
            declaredHosts.insert(host)
            let exportTo = service.annotations["networking.istio.io/exportTo"]?.split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if Visibility.isExported(exportTo, from: service.namespace, to: client) { visibleHosts.insert(host) }
        }
        self.hiddenHosts = declaredHosts.subtracting(visibleHosts)
        let hidden = hiddenHosts
        self.visibleServices = registry.services.filter { !hidden.contains($0.hostname.lowercased()) }
        var byHost: [String: MeshService] = [:]
        for service in visibleServices where byHost[service.hostname.lowercased()] == nil {
            byHost[service.hostname.lowercased()] = service
        }
        self.servicesByHost = byHost
    }

    mutating func compile() {
        // Which VirtualServices a sidecar sees, each compiled once, in Istio's precedence order.
        var eligible: [(vs: VirtualService, rules: [RuleTemplate], headerNames: [String])] = []
        let client = options.clientNamespace
        let delegates = DelegateMerger(resources.virtualServices)
        let ordered = ConfigPrecedence.sorted(resources.virtualServices).enumerated().sorted {
            let a = Visibility.precedenceGroup($0.element.spec.exportTo, from: $0.element.namespace, to: client)
            let b = Visibility.precedenceGroup($1.element.spec.exportTo, from: $1.element.namespace, to: client)
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
        for vs in ordered {
            guard let hosts = vs.spec.hosts, !hosts.isEmpty else { continue }  // a delegate: only reachable through `delegate`
            let gateways = vs.spec.gateways ?? []
            if !gateways.isEmpty && !gateways.contains("mesh") {
                notes.append(vs.diagnostic(.note, ["gateways"], "bound to gateways \(gateways.joined(separator: ", ")) only, not to sidecars (mesh): meshsim does not route it"))
                continue
            }
            guard Visibility.isExported(vs.spec.exportTo, from: vs.namespace, to: client) else {
                notes.append(vs.diagnostic(.note, ["exportTo"], "not exported to the client namespace \(client)"))
                continue
            }
            guard let http = vs.spec.http, !http.isEmpty else { continue }
            let merged =
                DelegateMerger.isRoot(vs)
                ? delegates.merge(vs, notes: &notes)
                : http.enumerated().map { DelegateMerger.MergedRule(route: $0.element, source: vs, sourceIndex: $0.offset) }
            var templateErrors: [ConfigDiagnostic] = []
            var headerNames: [String] = []
            let rules = merged.enumerated().map {
                RuleTemplate(
                    vs: vs, index: $0.offset, route: $0.element.route, source: ($0.element.source, $0.element.sourceIndex), options: options,
                    headerNames: &headerNames, diagnostics: &templateErrors)
            }
            errors += templateErrors
            eligible.append((vs, rules, headerNames))
        }

        // Which VirtualServices name each registry service exactly, in precedence order; hosts
        // that name no service; wildcard hosts.
        var exactClaims: [String: [Int]] = [:]
        var claimedDomains: [String: Int] = [:]
        var hostBindings: [(vsIndex: Int, host: String)] = []
        var wildcardHosts: [(vsIndex: Int, host: String)] = []
        for (vsIndex, entry) in eligible.enumerated() {
            for written in entry.vs.spec.hosts ?? [] {
                let host = HostName.fullyQualified(written, namespace: entry.vs.namespace).lowercased()
                if HostName.isWildcard(host) {
                    wildcardHosts.append((vsIndex, host))
                } else if servicesByHost[host] != nil {
                    let claims = exactClaims[host] ?? []
                    if let owner = claims.first, owner != vsIndex { shadowed(entry.vs, host: host, by: eligible[owner].vs) }
                    if !claims.contains(vsIndex) { exactClaims[host] = claims + [vsIndex] }
                } else if let owner = claimedDomains[host] {
                    if owner != vsIndex { shadowed(entry.vs, host: host, by: eligible[owner].vs) }
                } else {
                    claimedDomains[host] = vsIndex
                    hostBindings.append((vsIndex, host))
                }
            }
        }
        for (vsIndex, host) in wildcardHosts where !visibleServices.contains(where: { HostName.matches(pattern: host, host: $0.hostname) }) {
            if let owner = claimedDomains[host] {
                if owner != vsIndex { shadowed(eligible[vsIndex].vs, host: host, by: eligible[owner].vs) }
            } else {
                claimedDomains[host] = vsIndex
                hostBindings.append((vsIndex, host))
            }
        }

        var used: Set<Int> = []
        // Hosts no service has: a virtual host on port 80 only, as Istio builds for them.
        for (vsIndex, host) in hostBindings {
            let entry = eligible[vsIndex]
            guard let table = buildTable(entry.vs, entry.rules, headerNames: entry.headerNames, host: host, listenPort: 80) else { continue }
            used.insert(vsIndex)
            if HostName.isWildcard(host) {
                let kind: PatternDomain.Kind = host == "*" ? .any : .suffix
                patterns.append(PatternDomain(kind: kind, bytes: Array(host.dropFirst().utf8), port: 80, table: table))
                continue
            }
            addDomain(host, table: table)
            addDomain("\(host):80", table: table)
            // A cluster-local name whose Service was not given (routing files alone): meshsim
            // assumes the Service exists and answers to its sidecar names on any port.
            let names = kubernetesNames(host)
            if names.count > 1 {
                for name in names + [host + "."] { patterns.append(PatternDomain(kind: .host, bytes: Array(name.utf8), port: nil, table: table)) }
                notes.append(entry.vs.diagnostic(
                    .note, ["hosts"], "no Service or ServiceEntry declares \(host); meshsim routes its names on any port and cannot check endpoints"))
            }
        }

        // Each registry service, port by port: the first VirtualService naming it exactly (else
        // the most specific wildcard covering it) that has a rule for this client on that port.
        // One with none (every match block names another port, a gateway, or a source the
        // client is not) yields no virtual host there (BuildSidecarVirtualHostWrapper skips a
        // VirtualService without routes), so the service keeps Istio's default route on it.
        var defaults: [(service: MeshService, port: Int, portless: Bool)] = []
        var seenHosts: Set<String> = []
        for service in visibleServices {
            let name = service.hostname.lowercased()
            guard seenHosts.insert(name).inserted else { continue }
            var candidates = exactClaims[name] ?? []
            if candidates.isEmpty {
                let covering = wildcardHosts.filter { HostName.matches(pattern: $0.host, host: name) }
                // The most specific wildcard wins; among equals, the first in precedence.
                if let best = covering.max(by: { $0.host.count < $1.host.count || ($0.host.count == $1.host.count && $0.vsIndex > $1.vsIndex) }) {
                    candidates = [best.vsIndex]
                }
            }
            let ports = service.ports.filter { $0.protocol.isHTTP && $0.number > 0 }
            if let first = candidates.first, ports.isEmpty {
                notes.append(eligible[first].vs.diagnostic(.note, ["hosts"], "service \(service.hostname) has no HTTP port; no route is built for it"))
            }
            for (i, port) in ports.enumerated() {
                var served = false
                for vsIndex in candidates {
                    let entry = eligible[vsIndex]
                    if let table = buildTable(entry.vs, entry.rules, headerNames: entry.headerNames, host: service.hostname, listenPort: port.number) {
                        addDomains(for: service, port: port.number, includingPortless: i == 0, table: table)
                        used.insert(vsIndex)
                        served = true
                        break
                    }
                    notes.append(entry.vs.diagnostic(
                        .warning, ["http"],
                        "no rule applies to this client on port \(port.number) of \(service.hostname) (every match block names another port, a gateway or a source); Istio builds no virtual host from it there, so the next VirtualService for the host, else the service's default route, takes the traffic"))
                }
                if !served { defaults.append((service, port.number, i == 0)) }
            }
        }
        for vsIndex in used.sorted() {
            let vs = eligible[vsIndex].vs
            virtualServiceInfos.append(VirtualServiceInfo(
                name: vs.qualifiedName, hosts: vs.spec.hosts ?? [], file: vs.location.file, line: vs.location.line,
                rules: eligible[vsIndex].rules.map {
                    VirtualServiceInfo.Rule(
                        index: $0.index, name: $0.route.name, line: $0.line,
                        ref: RouteRef(virtualService: vs.qualifiedName, ruleIndex: $0.index, ruleName: $0.route.name))
                }))
        }

        // Services no VirtualService routes: Istio's default route to the whole service.
        for (service, port, portless) in defaults {
            let cluster = self.cluster(host: service.hostname, subset: nil, port: port)
            let forward = Forward(
                cluster: cluster, route: .defaultRoute, timeout: nil, retries: .istioDefault, fault: nil, rewrite: nil,
                rewriteRegex: nil, requestHeaders: nil, responseHeaders: nil, authorityRewrite: nil, mirrors: [])
            let rule = CompiledRule(ref: .defaultRoute, blocks: [], action: .forward(forward), destinations: [DestinationEntry(cluster: cluster, weight: 100)])
            tables.append(RouteTable(virtualService: nil, host: service.hostname, port: port, rules: [rule], droppedRules: []))
            addDomains(for: service, port: port, includingPortless: portless, table: tables.count - 1)
        }
    }

    private mutating func shadowed(_ vs: VirtualService, host: String, by owner: VirtualService) {
        notes.append(vs.diagnostic(
            .warning, ["hosts"],
            "host \(host) is already defined by VirtualService \(owner.qualifiedName), which comes first for this client (exportTo, then creationTimestamp, then name); a sidecar uses only that one (IST0109), so this one is ignored for it"))
    }

    // MARK: Domains

    /// The names a sidecar's virtual host answers to for a service (Istio's
    /// `generateVirtualHostDomains`): the FQDN, and for a host `name.ns.svc.cluster.local` `name.ns.svc`,
    /// `name.ns`, plus `name` when the client is in the service's namespace, and the FQDN with a
    /// trailing dot; each with
    /// `:port`, and without it on the service's first HTTP port (meshsim has one listener).
    private mutating func addDomains(for service: MeshService, port: Int, includingPortless: Bool, table: Int) {
        let host = service.hostname.lowercased()
        if HostName.isWildcard(host) {
            let kind: PatternDomain.Kind = host == "*" ? .any : .suffix
            patterns.append(PatternDomain(kind: kind, bytes: Array(host.dropFirst().utf8), port: port, table: table))
            return
        }
        // Any host under the cluster domain gets the short forms, whichever registry declared it.
        var names = kubernetesNames(host)
        // The absolute FQDN (`reviews.default.svc.cluster.local.`): Istio adds it to a service's
        // domains (GenerateAltVirtualHosts, PILOT_ENABLE_ABSOLUTE_FQDN_VHOST_DOMAIN, on by default).
        if !HostName.isIPAddress(host) { names.append(host + ".") }
        for name in names {
            addDomain("\(name):\(port)", table: table)
            if includingPortless { addDomain(name, table: table) }
        }
    }

    /// `name.ns.svc.cluster.local`, `name.ns.svc`, `name.ns`, and `name` when the client is in
    /// `ns`; just the host for any other name.
    private func kubernetesNames(_ host: String) -> [String] {
        let suffix = ".svc.\(HostName.clusterDomain)"
        guard host.hasSuffix(suffix) else { return [host] }
        let parts = host.dropLast(suffix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return [host] }
        var names = [host, "\(parts[0]).\(parts[1]).svc", "\(parts[0]).\(parts[1])"]
        if String(parts[1]) == options.clientNamespace.lowercased() { names.append(String(parts[0])) }
        return names
    }

    /// The first virtual host to claim a domain keeps it (Envoy rejects duplicates; Istio drops them).
    private mutating func addDomain(_ domain: String, table: Int) {
        if domains[domain] == nil { domains[domain] = table }
    }

    // MARK: Tables

    /// The VirtualService's routes on `listenPort`, nil when no rule applies there (Istio then
    /// builds no virtual host from it: `BuildHTTPRoutesForVirtualService` finds no routes).
    private mutating func buildTable(_ vs: VirtualService, _ templates: [RuleTemplate], headerNames: [String], host: String, listenPort: Int) -> Int? {
        var rules: [CompiledRule] = []
        var dropped: [(index: Int, reason: String)] = []
        for template in templates where template.isValid {
            let (blocks, reason) = template.blocks(forPort: listenPort)
            if let reason {
                dropped.append((template.index, reason))
                continue
            }
            let (action, destinations) = compileAction(template, vs: vs, listenPort: listenPort)
            rules.append(CompiledRule(ref: template.ref, blocks: blocks, action: action, destinations: destinations))
        }
        if rules.isEmpty { return nil }
        tables.append(RouteTable(virtualService: vs.qualifiedName, host: host, port: listenPort, rules: rules, droppedRules: dropped, headerNames: headerNames))
        return tables.count - 1
    }

    private mutating func compileAction(_ template: RuleTemplate, vs: VirtualService, listenPort: Int) -> (RuleAction, [DestinationEntry]) {
        let route = template.route
        if let redirect = route.redirect {
            var port: Int? = redirect.port.map(Int.init)
            if port == nil && redirect.derivePort == .fromRequestPort { port = listenPort }
            return (.redirect(RedirectTemplate(
                status: Int(redirect.redirectCode ?? 301), scheme: redirect.scheme, authority: redirect.authority, port: port, uri: redirect.uri,
                prefixRewrite: redirect.prefixRewrite)), [])
        }
        if let direct = route.directResponse {
            return (.directResponse(status: Int(direct.status ?? 200), body: template.directResponseBody), [])
        }
        let written = route.route ?? []
        let mirrors = mirrorPolicies(route, vs: vs, listenPort: listenPort)
        var entries: [DestinationEntry] = []
        var forwards: [Forward] = []
        // Istio uses weighted clusters whenever the rule lists more than one destination.
        let weighted = written.count > 1
        let routeAuthority = route.rewrite?.authority.flatMap { $0.isEmpty ? nil : $0 } ?? HeaderMutations.authority(route.headers?.request)
        for destination in written {
            let cluster = self.cluster(for: destination.destination, vs: vs, listenPort: listenPort)
            // One destination takes everything whatever its weight (Istio emits a plain cluster).
            let weight = written.count == 1 ? 100 : UInt64(max(0, destination.weight ?? 0))
            entries.append(DestinationEntry(cluster: cluster, weight: weight))
            forwards.append(Forward(
                cluster: cluster, route: template.ref, timeout: template.timeout, retries: template.retries, fault: template.fault,
                rewrite: route.rewrite, rewriteRegex: template.rewriteRegex,
                requestHeaders: HeaderMutations.build(route: route.headers?.request, destination: destination.headers?.request, weighted: weighted),
                responseHeaders: HeaderMutations.build(route: route.headers?.response, destination: destination.headers?.response, weighted: weighted),
                authorityRewrite: routeAuthority ?? HeaderMutations.authority(destination.headers?.request), mirrors: mirrors,
                cors: template.cors))
        }
        let chosen = entries.indices.filter { entries[$0].weight > 0 }
        if chosen.count == 1 { return (.forward(forwards[chosen[0]]), entries) }
        let set = WeightedSet(slot: slotCount, forwards: chosen.map { forwards[$0] }, weights: chosen.map { entries[$0].weight })
        slotCount += chosen.count
        return (.weighted(set), entries)
    }

    private mutating func mirrorPolicies(_ route: HTTPRoute, vs: VirtualService, listenPort: Int) -> [MirrorPolicy] {
        var out: [MirrorPolicy] = []
        if let mirror = route.mirror {
            // Istio: mirrorPercentage, else the deprecated mirrorPercent, else 100%; an explicit 0 disables.
            let percent = route.mirrorPercentage?.value ?? route.mirrorPercent.map(Double.init) ?? 100
            if percent > 0 { out.append(MirrorPolicy(cluster: cluster(for: mirror, vs: vs, listenPort: listenPort), percentage: percent)) }
        }
        for mirror in route.mirrors ?? [] {
            guard let destination = mirror.destination else { continue }
            let percent = mirror.percentage?.value ?? 100
            if percent > 0 { out.append(MirrorPolicy(cluster: cluster(for: destination, vs: vs, listenPort: listenPort), percentage: percent)) }
        }
        return out
    }

    // MARK: Clusters

    /// Istio's GetDestinationCluster: the destination's port, else the service's only port,
    /// else the port the request came in on.
    private mutating func cluster(for destination: Destination?, vs: VirtualService, listenPort: Int) -> Cluster {
        let host = HostName.fullyQualified(destination?.host ?? "", namespace: vs.namespace).lowercased()
        let service = registry.service(forHost: host)
        var port = listenPort
        if let number = destination?.port?.number {
            port = Int(number)
        } else if let ports = service?.ports, ports.count == 1 {
            port = ports[0].number
        }
        return cluster(host: host, subset: destination?.subset, port: port)
    }

    mutating func cluster(host: String, subset: String?, port: Int) -> Cluster {
        let name = Cluster.name(host: host, subset: subset, port: port)
        if let existing = clusters[name] { return existing }
        let service = registry.service(forHost: host)
        let rule = destinationRules.rule(forHost: host, serviceNamespace: service?.namespace)
        let all = service?.workloads ?? []
        var definition: Subset? = nil
        var state: ClusterState
        var selected: [Workload] = []
        if let subset {
            definition = rule?.subset(named: subset)
        }
        if subset != nil && definition == nil {
            // No DestinationRule defines the subset, so istiod builds no such cluster. Only when
            // nothing at all is known of the host (routing files alone) is this left unchecked.
            state = (rule == nil && (service == nil || all.isEmpty)) ? .unchecked : .undefinedSubset
        } else {
            selected = all.filter { $0.matches(definition?.labels ?? [:]) }
            state = all.isEmpty ? .unchecked : (selected.isEmpty ? .noHealthyUpstream : .ready)
        }
        let servicePort = service?.ports.first { $0.number == port }
        if hiddenHosts.contains(host.lowercased()) {
            // Not exported to the client: outside its sidecar's scope, so no cluster exists.
            state = .undefinedSubset
            selected = []
        } else if let service, !service.ports.isEmpty, servicePort == nil {
            // istiod builds clusters for a service's ports only: a destination port the service
            // does not have names a cluster Envoy cannot find (503 NC).
            state = .undefinedSubset
            selected = []
        }
        let policy = ClusterTrafficPolicy(destination: rule?.trafficPolicy, subset: definition?.trafficPolicy, port: port)
        let endpoints = selected.map { Endpoint(workload: $0, address: address(of: $0, servicePort: servicePort, port: port), weight: $0.weight) }
        let cluster = Cluster(
            host: host, subset: subset, port: port, serviceName: service?.shortName ?? host,
            serviceNamespace: service?.namespace ?? "unknown",
            protocol: servicePort?.protocol ?? .unknown, endpoints: endpoints, loadBalancer: LoadBalancerPolicy(policy.loadBalancer),
            connectionPool: policy.connectionPool, outlierDetection: policy.outlierDetection, tls: policy.tls,
            subsetLabels: definition?.labels ?? [:], state: state, destinationRule: rule?.name, position: clusterOrder.count)
        clusters[name] = cluster
        clusterOrder.append(cluster)
        return cluster
    }

    /// Where a workload listens: the address the caller gave for it, else its own address (a
    /// WorkloadEntry or ServiceEntry endpoint) on its named port, the target port, or the
    /// service port.
    private func address(of workload: Workload, servicePort: ServicePortInfo?, port: Int) -> EndpointAddress? {
        if let known = addresses["\(workload.namespace)/\(workload.name)"] { return known }
        guard let host = workload.address else { return nil }
        var target = port
        if let name = servicePort?.name, let named = workload.ports[name] {
            target = Int(named)
        } else if case .int(let number)? = servicePort?.targetPort {
            target = number
        }
        return EndpointAddress(host: host, port: target)
    }
}
