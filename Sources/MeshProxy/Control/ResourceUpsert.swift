import MeshConfig

extension MeshResources {
    /// `kubectl apply` of `other` onto these resources: a resource with the kind, namespace and
    /// name of one already here replaces it in place (rule order stays), a new one is added at
    /// the end, and resources `other` does not name are kept.
    func upserting(_ other: MeshResources) -> MeshResources {
        var result = self
        Self.upsert(other.virtualServices, into: &result.virtualServices)
        Self.upsert(other.destinationRules, into: &result.destinationRules)
        Self.upsert(other.serviceEntries, into: &result.serviceEntries)
        Self.upsert(other.workloadEntries, into: &result.workloadEntries)
        Self.upsert(other.services, into: &result.services)
        Self.upsert(other.deployments, into: &result.deployments)
        Self.upsert(other.namespaces, into: &result.namespaces)
        return result
    }

    private static func upsert<Spec>(_ incoming: [Resource<Spec>], into existing: inout [Resource<Spec>]) {
        for resource in incoming {
            if let index = existing.firstIndex(where: { $0.namespace == resource.namespace && $0.name == resource.name }) {
                existing[index] = resource
            } else {
                existing.append(resource)
            }
        }
    }
}
