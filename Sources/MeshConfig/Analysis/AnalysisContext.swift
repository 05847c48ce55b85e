import Foundation

/// What every analyzer reads: the resources (without Kubernetes' system namespaces, which
/// istioctl never loads), the service registry, and the host lookup istioctl's analyzers use.
struct AnalysisContext {
    let resources: MeshResources
    let registry: ServiceRegistry
    let hosts: VisibleHostIndex

    init(_ resources: MeshResources) {
        self.resources = resources
        self.registry = ServiceRegistry(resources)
        self.hosts = VisibleHostIndex(resources)
    }

    /// The Namespace resource of that name, if one was given.
    func namespace(named name: String) -> Namespace? {
        resources.namespaces.last { $0.name == name }
    }
}

/// Istio's analyzer host lookup (`InitServiceEntryHostMap` / `GetDestinationHost`): which
/// ServiceEntry hosts and Kubernetes Services a namespace can see, honouring a ServiceEntry's
/// `exportTo` and a Service's `networking.istio.io/exportTo` annotation.
struct VisibleHostIndex {
    /// The ports a visible host declares (ServiceEntry `number`, Kubernetes Service `port`).
    struct Entry: Hashable {
        var ports: [Int]
    }

    /// `scope/fqdn`, where scope is `*` (every namespace) or a namespace name.
    private var entries: [String: Entry] = [:]
    /// The wildcard hosts among them (`*.example.com`), in key order so lookups are stable.
    private var wildcards: [(scope: String, suffix: Substring, entry: Entry)] = []

    static let exportToAll = "*"
    static let exportToLocal = "."
    static let exportToAnnotation = "networking.istio.io/exportTo"

    init(_ resources: MeshResources) {
        for se in resources.serviceEntries {
            let entry = Entry(ports: (se.spec.ports ?? []).map { Int($0.number ?? 0) })
            let exportTo = se.spec.exportTo ?? []
            for host in se.spec.hosts ?? [] {
                if exportTo.isEmpty || exportTo.contains(Self.exportToAll) {
                    entries[Self.key(Self.exportToAll, se.namespace, host)] = entry
                    continue
                }
                for scope in exportTo {
                    entries[Self.key(scope == Self.exportToLocal ? se.namespace : scope, se.namespace, host)] = entry
                }
            }
        }
        // A Kubernetes Service counts as a ServiceEntry for its cluster-local name (istioctl does the same).
        for service in resources.services {
            let entry = Entry(ports: (service.spec.ports ?? []).map { $0.port ?? 0 })
            for scope in Self.visibleNamespaces(annotation: service.annotations[Self.exportToAnnotation], namespace: service.namespace) {
                entries[Self.key(scope, service.namespace, service.name)] = entry
            }
        }
        for (key, entry) in entries.sorted(by: { $0.key < $1.key }) {
            guard let slash = key.firstIndex(of: "/") else { continue }
            let host = key[key.index(after: slash)...]
            if host.hasPrefix("*") { wildcards.append((String(key[..<slash]), host.dropFirst(), entry)) }
        }
    }

    private static func visibleNamespaces(annotation: String?, namespace: String) -> [String] {
        guard let annotation, !annotation.isEmpty else { return [exportToAll] }
        return annotation.split(separator: ",").map { part in
            let scope = part.trimmingCharacters(in: .whitespaces)
            return scope == exportToLocal ? namespace : scope
        }
    }

    private static func key(_ scope: String, _ namespace: String, _ host: String) -> String {
        "\(scope)/\(HostName.fullyQualified(host, namespace: namespace))"
    }

    /// The service a destination `host`, written in `namespace` by a resource exported to
    /// `exportTo`, refers to; nil when no visible ServiceEntry or Service declares it.
    func destination(host: String, from namespace: String, exportTo: [String]?) -> Entry? {
        if let entry = entries[Self.key(Self.exportToAll, namespace, host)] { return entry }
        let scopes = (exportTo ?? []).isEmpty ? [namespace] : (exportTo ?? []).map { $0 == Self.exportToLocal ? namespace : $0 }
        for scope in scopes {
            if let entry = entries[Self.key(scope, namespace, host)] { return entry }
        }
        // Wildcard ServiceEntry hosts last, as Istio checks them.
        let hostSuffix = host.hasPrefix("*") ? String(host.dropFirst()) : host
        return wildcards.first { ($0.scope == Self.exportToAll || $0.scope == namespace) && hostSuffix.hasSuffix($0.suffix) }?.entry
    }

    /// Istio's `GetResourceNameFromHost`: `name.namespace.svc.cluster.local` names a service in
    /// its namespace; any other host is taken as a name in `defaultNamespace`.
    static func serviceName(ofHost host: String, defaultNamespace: String) -> (namespace: String, name: String) {
        let suffix = ".svc.\(HostName.clusterDomain)"
        if host.hasSuffix(suffix) {
            let stem = host.dropLast(suffix.count)
            if let dot = stem.lastIndex(of: "."), dot != stem.startIndex, stem.index(after: dot) != stem.endIndex {
                return (String(stem[stem.index(after: dot)...]), String(stem[..<dot]))
            }
        }
        return (defaultNamespace, host)
    }
}
