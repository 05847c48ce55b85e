/// Istio's `destinationrule.SubsetSelectPodAnalyzer`: a DestinationRule's host must be a known
/// service (IST0174), and each subset must select at least one of its pods (IST0173), or the
/// subset's share of traffic fails with 503 UH (no healthy upstream).
///
/// Where Istio matches subset labels against every pod in the cluster, meshsim matches them
/// against the workloads of the rule's own host, as Envoy's subset load balancer does; and it
/// reports a subset only when the host has workloads at all, since the files analyzed need not
/// include the Deployments.
struct DestinationRuleSubsetAnalyzer: ResourceAnalyzer {
    let name = "destinationrule.SubsetSelectPodAnalyzer"
    let description = "Checks if pods are selected by subsets in destination rules."
    let reports: [AnalysisMessageType] = [.unknownDestinationRuleHost, .destinationRuleSubsetNotSelectPods]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for dr in context.resources.destinationRules {
            let host = dr.spec.host ?? ""
            guard context.hosts.destination(host: host, from: dr.namespace, exportTo: dr.spec.exportTo) != nil else {
                messages.append(AnalysisMessage(.unknownDestinationRuleHost, dr, specField: ["host"], IstioText.unknownDestinationRuleHost(host)))
                continue
            }
            let fqdn = HostName.fullyQualified(host, namespace: dr.namespace)
            // A wildcard host names no single service whose pods a subset could select.
            guard !HostName.isWildcard(fqdn), let service = context.registry.service(forHost: fqdn), !service.workloads.isEmpty else { continue }
            for (i, subset) in (dr.spec.subsets ?? []).enumerated() {
                let labels = subset.labels ?? [:]
                guard !service.workloads.contains(where: { $0.matches(labels) }) else { continue }
                messages.append(AnalysisMessage(
                    .destinationRuleSubsetNotSelectPods, dr, specField: ["subsets", .index(i), "labels"],
                    IstioText.subsetNotSelectPods(subset.name ?? "")))
            }
        }
        return messages
    }
}

/// Istio's `destinationrule.CaCertificateAnalyzer`: SIMPLE or MUTUAL TLS to the upstream without
/// `caCertificates` does not verify the server (unless a `credentialName` supplies them to a
/// rule with a workload selector). Subset-level policies are not checked, as in Istio.
struct CACertificateAnalyzer: ResourceAnalyzer {
    let name = "destinationrule.CaCertificateAnalyzer"
    let description = "Checks if caCertificates is set when TLS mode is SIMPLE/MUTUAL"
    let reports: [AnalysisMessageType] = [.noServerCertificateVerificationDestinationLevel, .noServerCertificateVerificationPortLevel]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for dr in context.resources.destinationRules {
            let host = dr.spec.host ?? ""
            let hasSelector = dr.spec.workloadSelector != nil
            if let tls = dr.spec.trafficPolicy?.tls, let mode = Self.unverifiedMode(tls, hasWorkloadSelector: hasSelector) {
                messages.append(AnalysisMessage(
                    .noServerCertificateVerificationDestinationLevel, dr, specField: ["trafficPolicy", "tls", "caCertificates"],
                    IstioText.noServerCertificateVerificationDestinationLevel(dr.qualifiedName, dr.namespace, mode, host)))
            }
            for (i, setting) in (dr.spec.trafficPolicy?.portLevelSettings ?? []).enumerated() {
                guard let tls = setting.tls, let mode = Self.unverifiedMode(tls, hasWorkloadSelector: hasSelector) else { continue }
                // Go prints the PortSelector message in its text form, `number:443`.
                let port = setting.port?.number.map { "number:\($0)" } ?? ""
                messages.append(AnalysisMessage(
                    .noServerCertificateVerificationPortLevel, dr,
                    specField: ["trafficPolicy", "portLevelSettings", .index(i), "tls", "caCertificates"],
                    IstioText.noServerCertificateVerificationPortLevel(dr.qualifiedName, dr.namespace, mode, host, port)))
            }
        }
        return messages
    }

    /// The mode's name when it is SIMPLE or MUTUAL and nothing supplies CA certificates.
    private static func unverifiedMode(_ tls: ClientTLSSettings, hasWorkloadSelector: Bool) -> String? {
        guard let mode = tls.mode, mode == .simple || mode == .mutual else { return nil }
        if let ca = tls.caCertificates, !ca.isEmpty { return nil }
        if let credential = tls.credentialName, !credential.isEmpty, hasWorkloadSelector { return nil }
        return mode.rawValue
    }
}
