/// Istio's rules for locality-weighted load balancing (`distribute`, `failover`,
/// `failoverPriority`) and for zone-aware load balancing.
enum LocalityRules {
    /// Topology labels whose tiers locality failover already orders.
    static let topologyLabels: Set<String> = ["topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"]

    static func localityLbSetting(_ setting: LocalityLoadBalancerSetting?, outlier: OutlierDetection?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let setting else { return }
        let distribute = setting.distribute ?? [], failover = setting.failover ?? [], priority = setting.failoverPriority ?? []
        if !distribute.isEmpty && !failover.isEmpty {
            findings.error(path, "can not simultaneously specify 'distribute' and 'failover'")
            return
        }
        if !failover.isEmpty, let label = priority.first(where: topologyLabels.contains) {
            findings.error(path / "failoverPriority", "can not simultaneously set 'failover' and topology label '\(label)' in 'failover_priority'")
            return
        }
        var sources: [String] = []
        for (i, rule) in distribute.enumerated() {
            sources.append(rule.from ?? "")
            let to = rule.to ?? [:]
            var total: UInt32 = 0
            for locality in to.keys.sorted() {
                let weight = to[locality] ?? 0
                if weight == 0 || weight > 100 {
                    findings.error((path / "distribute")[i] / "to" / locality, "locality weight must be in range [1, 100]")
                    return
                }
                total += weight
            }
            if total != 100 {
                findings.error((path / "distribute")[i] / "to", "total locality weight \(total) != 100")
                return
            }
            findings.add(localitiesProblem(to.keys.sorted()), at: (path / "distribute")[i] / "to")
        }
        findings.add(localitiesProblem(sources), at: path / "distribute")
        if (!failover.isEmpty || !priority.isEmpty) && outlier == nil {
            findings.warning(path, "outlier detection policy must be provided for failover")
        }
        for (i, rule) in failover.enumerated() {
            let from = rule.from ?? "", to = rule.to ?? ""
            let rulePath = (path / "failover")[i]
            if from == to { findings.error(rulePath, "locality lb failover settings must specify different regions") }
            if from.contains("/") || to.contains("/") { findings.error(rulePath, "locality lb failover only specify region") }
            if from.contains("*") || to.contains("*") { findings.error(rulePath, "locality lb failover region should not contain '*' wildcard") }
        }
    }

    static func zoneAwareLbSetting(_ setting: ZoneAwareLoadBalancerSetting?, outlier: OutlierDetection?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let setting else { return }
        let failover = setting.failover ?? [], priority = setting.failoverPriority ?? []
        for (i, label) in priority.enumerated() where topologyLabels.contains(label) {
            findings.error((path / "failoverPriority")[i], "'failover_priority' for zone aware lb must not use topology label '\(label)'; region- and zone-level routing are handled automatically")
        }
        if (!failover.isEmpty || !priority.isEmpty) && outlier == nil {
            findings.warning(path, "outlier detection policy must be provided for failover")
        }
        for (i, rule) in failover.enumerated() {
            let from = rule.from ?? "", to = rule.to ?? ""
            let rulePath = (path / "failover")[i]
            if from == to { findings.error(rulePath, "zone aware lb failover settings must specify different regions") }
            if from.contains("/") || to.contains("/") {
                findings.error(rulePath, "zone aware lb failover only specifies region; zone and subzone failover are handled automatically")
            }
            if from.contains("*") || to.contains("*") { findings.error(rulePath, "zone aware lb failover region should not contain '*' wildcard") }
        }
        if let size = setting.minClusterSize, size < 1 {
            findings.error(path / "minClusterSize", "minClusterSize should be greater than or equal to 1")
        }
    }

    /// Localities `region[/zone[/subzone]]`, each at most one trailing `*`, none overlapping another.
    static func localitiesProblem(_ localities: [String]) -> String? {
        // region → zone → subzone; "*" marks a whole tier taken.
        var taken: [String: [String: Set<String>]] = [:]
        for locality in localities {
            let stars = locality.filter { $0 == "*" }.count
            if stars > 1 || (stars == 1 && !locality.hasSuffix("*")) {
                return "locality \(locality) wildcard '*' number can not exceed 1 and must be in the end"
            }
            let overlap = "locality \(locality) overlap with previous specified ones"
            if taken["*"] != nil { return overlap }
            let items = locality.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            if items.contains(where: \.isEmpty) {
                return "locality \(locality) must not contain empty region/zone/subzone info"
            }
            let region = items[0]
            switch items.count {
            case 1:
                if taken[region] != nil { return overlap }
                taken[region] = ["*": ["*"]]
            case 2:
                let zone = items[1]
                if let zones = taken[region] {
                    if zones["*"] != nil || zones[zone] != nil { return overlap }
                    taken[region]?[zone] = ["*"]
                } else {
                    taken[region] = [zone: ["*"]]
                }
            default:
                let zone = items[1], subzone = items[2]
                if let zones = taken[region] {
                    if zones["*"] != nil { return overlap }
                    if let subzones = zones[zone] {
                        if subzones.contains("*") || subzones.contains(subzone) { return overlap }
                        taken[region]?[zone]?.insert(subzone)
                    } else {
                        taken[region]?[zone] = [subzone]
                    }
                } else {
                    taken[region] = [zone: [subzone]]
                }
            }
        }
        return nil
    }
}
