/// Cross-resource analysis in the manner of `istioctl analyze`: finds configurations that are
/// each valid alone but wrong together (a route to a subset no DestinationRule defines, a subset
/// whose labels select no pod, a rule no request can reach), with Istio's codes and wording.
///
/// Per-resource schema checks are `Validator`'s job; this does not repeat them.
public struct Analyzer: Sendable {
    /// One of the analyzers run, named as in Istio (`istioctl analyze -L`).
    public struct Info: Sendable, Hashable {
        public let name: String
        public let description: String
        /// The message types it can report.
        public let reports: [AnalysisMessageType]
    }

    public init() {}

    /// Every analyzer, in the order they run.
    public static let all: [Info] = analyzers.map { Info(name: $0.name, description: $0.description, reports: $0.reports) }

    /// Kubernetes' own namespaces, which istioctl leaves out of analysis altogether.
    public static let ignoredNamespaces: Set<String> = ["kube-system", "kube-public", "kube-node-lease", "local-path-storage"]

    /// Every finding about `resources`, sorted and de-duplicated as istioctl prints them.
    public func analyze(_ resources: MeshResources) -> [AnalysisMessage] {
        let context = AnalysisContext(Self.withoutIgnoredNamespaces(resources))
        var messages: [AnalysisMessage] = []
        for analyzer in Self.analyzers {
            messages += analyzer.analyze(context)
        }
        return AnalysisMessage.sortedAndDeduplicated(messages)
    }

    private static let analyzers: [any ResourceAnalyzer] = [
        VirtualServiceDestinationHostAnalyzer(),
        VirtualServiceDestinationRuleAnalyzer(),
        ConflictingMeshGatewayHostsAnalyzer(),
        UnreachableRulesAnalyzer(),
        DestinationRuleSubsetAnalyzer(),
        CACertificateAnalyzer(),
        InjectionAnalyzer(),
        PortNameAnalyzer(),
        ServiceAssociationAnalyzer(),
        ServiceEntryAddressesAnalyzer(),
        ConflictingServiceEntryProtocolAnalyzer(),
        DeprecationAnalyzer(),
    ]

    static func withoutIgnoredNamespaces(_ resources: MeshResources) -> MeshResources {
        var kept = resources
        let ignored = ignoredNamespaces
        kept.virtualServices.removeAll { ignored.contains($0.namespace) }
        kept.destinationRules.removeAll { ignored.contains($0.namespace) }
        kept.serviceEntries.removeAll { ignored.contains($0.namespace) }
        kept.workloadEntries.removeAll { ignored.contains($0.namespace) }
        kept.services.removeAll { ignored.contains($0.namespace) }
        kept.deployments.removeAll { ignored.contains($0.namespace) }
        kept.namespaces.removeAll { ignored.contains($0.name) }
        return kept
    }
}

/// One analyzer: reads the whole context, reports messages.
protocol ResourceAnalyzer: Sendable {
    /// Istio's analyzer name (`virtualservice.DestinationHostAnalyzer`).
    var name: String { get }
    var description: String { get }
    var reports: [AnalysisMessageType] { get }
    func analyze(_ context: AnalysisContext) -> [AnalysisMessage]
}
