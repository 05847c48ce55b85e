/// Istio's `serviceentry.Analyzer` (protocol addresses): a ServiceEntry port serving TCP (or no
/// declared protocol) needs `addresses`, since TCP traffic is told apart by destination IP alone.
/// meshsim has no mesh config, so DNS auto-allocation counts as off, as in Istio's default.
struct ServiceEntryAddressesAnalyzer: ResourceAnalyzer {
    let name = "serviceentry.Analyzer"
    let description = "Checks the validity of ServiceEntry"
    let reports: [AnalysisMessageType] = [.serviceEntryAddressesRequired]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for se in context.resources.serviceEntries where (se.spec.addresses ?? []).isEmpty {
            for (i, port) in (se.spec.ports ?? []).enumerated() {
                let proto = port.protocol ?? ""
                guard proto.isEmpty || proto.uppercased() == "TCP" else { continue }
                messages.append(AnalysisMessage(.serviceEntryAddressesRequired, se, specField: ["ports", .index(i), "name"], IstioText.serviceEntryAddressesRequired))
            }
        }
        return messages
    }
}

/// Istio's `serviceentry.ConflictingServiceEntryProtocolAnalyzer`: ServiceEntries visible in one
/// namespace that give the same host and port different protocols.
struct ConflictingServiceEntryProtocolAnalyzer: ResourceAnalyzer {
    let name = "serviceentry.ConflictingServiceEntryProtocolAnalyzer"
    let description = "Checks if multiple ServiceEntries define the same host and port with different protocols"
    let reports: [AnalysisMessageType] = [.conflictingServiceEntryProtocol]

    private struct Key: Hashable, Comparable {
        var scope: String
        var host: String
        var port: UInt32
        static func < (a: Key, b: Key) -> Bool { (a.scope, a.host, a.port) < (b.scope, b.host, b.port) }
    }

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var index: [Key: [(protocol: String, entry: ServiceEntry)]] = [:]
        for se in context.resources.serviceEntries {
            let exportTo = se.spec.exportTo ?? []
            let scopes = exportTo.isEmpty || exportTo.contains(VisibleHostIndex.exportToAll)
                ? [VisibleHostIndex.exportToAll]
                : Array(Set(exportTo.map { $0 == VisibleHostIndex.exportToLocal ? se.namespace : $0 }))
            for scope in scopes {
                for host in se.spec.hosts ?? [] {
                    for port in se.spec.ports ?? [] {
                        index[Key(scope: scope, host: host, port: port.number ?? 0), default: []].append((port.protocol ?? "", se))
                    }
                }
            }
        }

        var reported = Set<String>()
        var messages: [AnalysisMessage] = []
        for key in index.keys.sorted() {
            var entries = index[key] ?? []
            if key.scope != VisibleHostIndex.exportToAll {
                entries += index[Key(scope: VisibleHostIndex.exportToAll, host: key.host, port: key.port)] ?? []
            }
            let protocols = Set(entries.map { $0.protocol.uppercased() })
            guard protocols.count > 1 else { continue }
            let names = Set(entries.map { $0.entry.qualifiedName }).sorted().joined(separator: ", ")
            let protocolList = protocols.sorted().joined(separator: ", ")
            for (_, se) in entries where !reported.contains(se.qualifiedName) {
                reported.insert(se.qualifiedName)
                messages.append(AnalysisMessage(
                    .conflictingServiceEntryProtocol, se, rootField: ["metadata", "name"],
                    IstioText.conflictingServiceEntryProtocol(names, key.host, Int(key.port), protocolList)))
            }
        }
        return messages
    }
}
