/// Istio's validateWorkloadEntry, used for WorkloadEntry resources and for the STATIC endpoints of
/// a ServiceEntry: the address (IP, host name or `unix://` socket), named ports and labels.
enum WorkloadEntryRules {
    static let unixPrefix = "unix://"

    /// `servicePorts` is the ServiceEntry's port names when validating one of its endpoints;
    /// `allowFQDNAddresses` is false for STATIC endpoints, which must be IPs.
    static func validate(_ entry: WorkloadEntrySpec, servicePorts: Set<String>?, allowFQDNAddresses: Bool, at path: FieldPath, into findings: inout ValidationFindings) {
        let address = entry.address ?? ""
        if address.isEmpty {
            guard let network = entry.network, !network.isEmpty else {
                findings.error(path / "address", "address is required")
                return
            }
            findings.warning(path / "address", "address is unset with network \(NameRules.goQuoted(network))")
        }
        let isUnix = address.hasPrefix(unixPrefix)
        if isUnix {
            findings.add(unixAddressProblem(String(address.dropFirst(unixPrefix.count))), at: path / "address")
            // The CRD schema refuses the field itself (`ports: {}` too) on a unix address.
            if entry.ports != nil {
                findings.error(path / "ports", "unix endpoint \(address) must not include ports")
            }
        } else if !address.isEmpty && !AddressRules.isIPAddress(address) {
            if !allowFQDNAddresses {
                findings.error(path / "address", "endpoint address \(NameRules.goQuoted(address)) is not a valid IP address")
            } else if NameRules.fqdn(address) != nil {
                findings.error(path / "address", "endpoint address \(NameRules.goQuoted(address)) is not a valid FQDN or an IP address")
            }
        }
        ports(entry.ports, servicePorts: servicePorts, at: path / "ports", into: &findings)
        findings.add(NameRules.labelProblems(entry.labels), at: path / "labels")
        if isUnix, let servicePorts, servicePorts.count != 1 {
            findings.error(path / "address", "exactly 1 service port required for unix endpoints")
        }
    }

    /// Named endpoint ports: valid names, numbers in range, and (in a ServiceEntry) names it declares.
    static func ports(_ ports: [String: UInt32]?, servicePorts: Set<String>?, at path: FieldPath, into findings: inout ValidationFindings) {
        let ports = ports ?? [:]
        for name in ports.keys.sorted() {
            let number = ports[name] ?? 0
            if let servicePorts, !servicePorts.contains(name) {
                findings.error(path / name, "endpoint port \(number) is not defined by the service entry")
            }
            if let problem = NameRules.portName(name) {
                findings.error(path / name, problem)
            } else if name.utf8.count >= NameRules.dns1123LabelMaxLength {
                // The CRD schema's rule is `size(key) < 63`, one shorter than a DNS label may be.
                findings.error(path / name, "invalid port name: \(name) (the CRD schema allows at most 62 characters)")
            }
            findings.add(NameRules.port(Int(number)), at: path / name)
        }
    }

    /// An absolute socket path, or an abstract socket (`@name`).
    static func unixAddressProblem(_ address: String) -> String? {
        if address.isEmpty { return "unix address must not be empty" }
        if address.hasPrefix("@") { return nil }
        if !address.hasPrefix("/") || address.hasSuffix("/") { return "\(address) is not an absolute path to a file" }
        return nil
    }

    /// Length bounds from the CRD schema.
    static func schemaLimits(_ entry: WorkloadEntrySpec, at path: FieldPath, into findings: inout ValidationFindings) {
        let limits: [(String?, String, Int)] = [
            (entry.address, "address", 256), (entry.network, "network", 2048),
            (entry.locality, "locality", 2048), (entry.serviceAccount, "serviceAccount", 253),
        ]
        for (value, field, limit) in limits where (value?.utf8.count ?? 0) > limit {
            findings.error(path / field, "Too long: may not be more than \(limit) bytes")
        }
        for (count, field, limit) in [(entry.labels?.count ?? 0, "labels", 256), (entry.ports?.count ?? 0, "ports", 128)] where count > limit {
            findings.error(path / field, "Too many: \(count): must have at most \(limit) items")
        }
    }
}
