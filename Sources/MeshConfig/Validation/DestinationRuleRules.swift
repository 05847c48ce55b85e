/// Istio's ValidateDestinationRule: the host, traffic policies, subsets, exportTo and the
/// workload selector.
enum DestinationRuleRules {
    static func validate(_ spec: DestinationRuleSpec, namespace: String, into findings: inout ValidationFindings) {
        findings.add(NameRules.wildcardDomain(spec.host ?? ""), at: ["host"])
        TrafficPolicyRules.validate(spec.trafficPolicy, namespace: namespace, at: ["trafficPolicy"], into: &findings)

        var names = Set<String>()
        for (i, subset) in (spec.subsets ?? []).enumerated() {
            let path: FieldPath = ["subsets", .index(i)]
            let name = subset.name ?? ""
            if !names.insert(name).inserted {
                findings.error(path / "name", "duplicate subset names: \(name)")
            }
            findings.add(CommonRules.subsetName(name), at: path / "name")
            findings.add(NameRules.labelProblems(subset.labels), at: path / "labels")
            // Istio merges a subset's policy through its error-only path: its warnings are dropped.
            var policyFindings = ValidationFindings()
            TrafficPolicyRules.validate(subset.trafficPolicy, namespace: namespace, at: path / "trafficPolicy", into: &policyFindings)
            findings.mergeErrors(of: policyFindings)
        }
        CommonRules.exportTo(spec.exportTo, namespace: namespace, isServiceEntry: false,
                             isDestinationRuleWithSelector: spec.workloadSelector != nil, at: ["exportTo"], into: &findings)
        workloadSelector(spec.workloadSelector, at: ["workloadSelector"], into: &findings)
    }

    /// A DestinationRule's selector is `matchLabels` (a ServiceEntry's is `labels`).
    static func workloadSelector(_ selector: WorkloadSelector?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let selector else { return }
        if selector.labels != nil {
            findings.error(path / "labels", "unknown field \"labels\" (a DestinationRule's workloadSelector has matchLabels)")
        }
        let labels = selector.matchLabels ?? [:]
        if labels.count > 4096 { findings.error(path / "matchLabels", "Too many: \(labels.count): must have at most 4096 items") }
        findings.add(CommonRules.selectorLabelProblems(labels), at: path / "matchLabels")
        for key in labels.keys.sorted() where (labels[key] ?? "").utf8.count > NameRules.dns1123LabelMaxLength {
            findings.error(path / "matchLabels" / key, "Too long: may not be more than 63 bytes")
        }
        if labels.isEmpty {
            findings.warning(path, "workload selector specified without labels")
        }
    }
}
