/// Istio's ValidateServiceEntry: hosts, addresses, ports, and what each resolution mode allows
/// of endpoints, addresses and the workload selector.
enum ServiceEntryRules {
    static let autoAllocateLabel = "networking.istio.io/enable-autoallocate-ip"
    static let useWaypointLabel = "istio.io/use-waypoint"

    static func validate(_ spec: ServiceEntrySpec, namespace: String, labels: [String: String], into findings: inout ValidationFindings) {
        let resolution = spec.resolution ?? .none
        let hosts = spec.hosts ?? [], addresses = spec.addresses ?? [], ports = spec.ports ?? []

        if let selector = spec.workloadSelector {
            if selector.matchLabels != nil {
                findings.error(["workloadSelector", "matchLabels"], "unknown field \"matchLabels\" (a ServiceEntry's workloadSelector has labels)")
            }
            let selectorLabels = selector.labels ?? [:]
            let problems = CommonRules.selectorLabelProblems(selectorLabels)
            if !problems.isEmpty {
                // Istio stops at a bad selector.
                findings.add(problems, at: ["workloadSelector", "labels"])
                return
            }
            for key in selectorLabels.keys.sorted() where (selectorLabels[key] ?? "").utf8.count > NameRules.dns1123LabelMaxLength {
                findings.error(["workloadSelector", "labels", .key(key)], "Too long: may not be more than 63 bytes")
            }
            if selectorLabels.isEmpty {
                findings.warning(["workloadSelector"], "service entry: workload selector specified without labels, will be applied to all services in namespace")
            }
        }
        if spec.workloadSelector != nil && spec.endpoints != nil {
            findings.error(["endpoints"], "only one of WorkloadSelector or Endpoints is allowed in Service Entry")
        }
        schemaLimits(spec, into: &findings)

        if hosts.isEmpty { findings.error(["hosts"], "service entry must have at least one host") }
        for (i, host) in hosts.enumerated() {
            if host == "*" {
                findings.error(["hosts", .index(i)], "invalid host \(host)")
                continue
            }
            findings.add(NameRules.wildcardDomain(host), at: ["hosts", .index(i)])
            if resolution != .dynamicDNS, let problem = NameRules.partialWildcard(host) {
                findings.warning(["hosts", .index(i)], problem)
            }
        }

        var hasCIDR = false
        for (i, address) in addresses.enumerated() {
            hasCIDR = hasCIDR || address.contains("/")
            findings.add(AddressRules.ipSubnet(address), at: ["addresses", .index(i)])
        }
        if hasCIDR && resolution != .none && resolution != .static {
            findings.error(["addresses"], "CIDR addresses are allowed only for NONE/STATIC resolution types")
        }

        let servicePorts = validatePorts(spec, labels: labels, into: &findings)
        validateResolution(spec, servicePorts: servicePorts, labels: labels, into: &findings)

        // Plain TCP cannot tell hosts apart (no Host header, no SNI), so one TCP port serves one host.
        if resolution != .none && hosts.count > 1 {
            for (i, port) in ports.enumerated() {
                let proto = IstioProtocol(parsing: port.protocol ?? "")
                if !(proto?.isHTTP ?? false) && !(proto?.isTLS ?? false) {
                    findings.error(["ports", .index(i)], "multiple hosts provided with non-HTTP, non-TLS ports")
                    break
                }
            }
        }
        CommonRules.exportTo(spec.exportTo, namespace: namespace, isServiceEntry: true, isDestinationRuleWithSelector: false, at: ["exportTo"], into: &findings)
    }

    /// Checks `ports` and returns their names (which endpoints' ports must use).
    static func validatePorts(_ spec: ServiceEntrySpec, labels: [String: String], into findings: inout ValidationFindings) -> Set<String> {
        let resolution = spec.resolution ?? .none
        let addresses = spec.addresses ?? []
        // Istio allocates a virtual IP itself unless resolution is NONE, the user opts out, or gives addresses.
        let autoAllocates = resolution != .none && labels[autoAllocateLabel]?.lowercased() != "false" && addresses.isEmpty
        var names = Set<String>(), numbers = Set<UInt32>()
        for (i, port) in (spec.ports ?? []).enumerated() {
            let path: FieldPath = ["ports", .index(i)]
            let name = port.name ?? "", number = port.number ?? 0, proto = port.protocol ?? ""
            if !names.insert(name).inserted { findings.error(path / "name", "service entry port name \(NameRules.goQuoted(name)) already defined") }
            if !numbers.insert(number).inserted { findings.error(path / "number", "service entry port \(number) already defined") }
            // Istio's code skips 0 (unset), but the CRD schema checks any targetPort written: 1..65535.
            if let target = port.targetPort { findings.add(NameRules.port(Int(target)), at: path / "targetPort") }
            if addresses.isEmpty && !autoAllocates && (proto.isEmpty || proto == "TCP") {
                findings.warning(path, "addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not enabled")
            }
            findings.add(NameRules.portName(name), at: path / "name")
            if !proto.isEmpty && IstioProtocol(parsing: proto) == nil {
                findings.error(path / "protocol", "unsupported protocol: \(proto)")
            }
            findings.add(NameRules.port(Int(number)), at: path / "number")
        }
        return names
    }

    static func validateResolution(_ spec: ServiceEntrySpec, servicePorts: Set<String>, labels: [String: String], into findings: inout ValidationFindings) {
        let resolution = spec.resolution ?? .none
        let hosts = spec.hosts ?? [], addresses = spec.addresses ?? [], endpoints = spec.endpoints ?? []
        switch resolution {
        case .none:
            // The CRD's rule (`!has(self.endpoints)`) would refuse `endpoints: []` as well, but Istio's
            // own case "partial wildcard hosts" takes an empty list as valid; meshsim keeps accepting it.
            if !endpoints.isEmpty { findings.error(["endpoints"], "no endpoints should be provided for resolution type none") }
            if spec.workloadSelector != nil { findings.warning(["workloadSelector"], "workloadSelector should not be set when resolution mode is NONE") }
        case .static:
            for (i, endpoint) in endpoints.enumerated() {
                WorkloadEntryRules.validate(endpoint, servicePorts: servicePorts, allowFQDNAddresses: false, at: ["endpoints", .index(i)], into: &findings)
            }
        case .dns, .dnsRoundRobin:
            if endpoints.isEmpty {
                for (i, host) in hosts.enumerated() {
                    if let problem = NameRules.fqdn(host) {
                        findings.error(["hosts", .index(i)], "hosts must be FQDN or contain only prefix wildcards if no endpoints are provided for resolution mode \(resolution.rawValue), \(problem)")
                        break
                    }
                }
            }
            if resolution == .dnsRoundRobin && endpoints.count > 1 {
                findings.error(["endpoints"], "there must only be 0 or 1 endpoint for resolution mode \(resolution.rawValue)")
            }
            for (i, endpoint) in endpoints.enumerated() {
                let path: FieldPath = ["endpoints", .index(i)]
                let address = endpoint.address ?? ""
                if !AddressRules.isIPAddress(address) && NameRules.fqdn(address) != nil {
                    findings.error(path / "address", "endpoint address \(NameRules.goQuoted(address)) is not a valid FQDN or an IP address")
                }
                findings.add(NameRules.labelProblems(endpoint.labels), at: path / "labels")
                WorkloadEntryRules.ports(endpoint.ports, servicePorts: servicePorts, at: path / "ports", into: &findings)
            }
            if !addresses.isEmpty && hosts.count > 1 && (spec.ports ?? []).contains(where: { IstioProtocol(parsing: $0.protocol ?? "")?.isTCP ?? false }) {
                findings.warning(["hosts"], "service entry can not have more than one host specified simultaneously with address and tcp port")
            }
        case .dynamicDNS:
            dynamicDNS(spec, labels: labels, into: &findings)
        }
    }

    static func dynamicDNS(_ spec: ServiceEntrySpec, labels: [String: String], into findings: inout ValidationFindings) {
        let mode = ServiceEntrySpec.Resolution.dynamicDNS.rawValue
        let hosts = spec.hosts ?? []
        if hosts.isEmpty { findings.error(["hosts"], "at least one wildcard host must be provided for resolution type \(mode)") }
        for (i, host) in hosts.enumerated() where !host.hasPrefix("*") {
            findings.error(["hosts", .index(i)], "host must be wildcarded for resolution mode \(mode)")
        }
        // Istio's messages join two sentences without a space; kept as Istio prints them.
        if !(spec.addresses ?? []).isEmpty {
            findings.error(["addresses"], "addresses cannot be set for resolution type \(mode). HTTP route domains will only be generatedfrom the hosts field values")
        }
        if !(spec.endpoints ?? []).isEmpty {
            findings.error(["endpoints"], "endpoints cannot be set for resolution type \(mode). Destination IP address determined from hostsfield values")
        }
        for (i, port) in (spec.ports ?? []).enumerated() {
            let proto = IstioProtocol(parsing: port.protocol ?? "")
            if ![.http, .tls, .grpc, .http2].contains(proto) {
                findings.error(["ports", .index(i), "protocol"], "only HTTP, TLS, GRPC, and HTTP2 protocols are supported for resolution type \(mode)")
            }
        }
        if spec.location == .meshInternal, let waypoint = labels[useWaypointLabel], !waypoint.isEmpty, waypoint.lowercased() != "none" {
            findings.error(["location"], "location MESH_INTERNAL with resolution type \(mode) is not supported when using waypoints")
        }
    }

    /// Size bounds from the CRD schema.
    static func schemaLimits(_ spec: ServiceEntrySpec, into findings: inout ValidationFindings) {
        let counts: [(Int, String, Int)] = [
            (spec.hosts?.count ?? 0, "hosts", 256), (spec.addresses?.count ?? 0, "addresses", 256),
            (spec.ports?.count ?? 0, "ports", 256), (spec.endpoints?.count ?? 0, "endpoints", 4096),
        ]
        for (count, field, limit) in counts where count > limit {
            findings.error([.key(field)], "Too many: \(count): must have at most \(limit) items")
        }
        if let labels = spec.workloadSelector?.labels, labels.count > 256 {
            findings.error(["workloadSelector", "labels"], "Too many: \(labels.count): must have at most 256 items")
        }
        for (i, address) in (spec.addresses ?? []).enumerated() where address.utf8.count > 64 {
            findings.error(["addresses", .index(i)], "Too long: may not be more than 64 bytes")
        }
        for (i, port) in (spec.ports ?? []).enumerated() {
            if (port.name?.utf8.count ?? 0) > 256 { findings.error(["ports", .index(i), "name"], "Too long: may not be more than 256 bytes") }
            if (port.protocol?.utf8.count ?? 0) > 256 { findings.error(["ports", .index(i), "protocol"], "Too long: may not be more than 256 bytes") }
        }
        for (i, endpoint) in (spec.endpoints ?? []).enumerated() {
            WorkloadEntryRules.schemaLimits(endpoint, at: ["endpoints", .index(i)], into: &findings)
        }
    }
}
