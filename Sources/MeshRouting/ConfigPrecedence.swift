import Foundation
import MeshConfig

/// The order istiod gives resources of one kind, which decides who wins when several claim the
/// same thing (two VirtualServices for one host, two DestinationRules defining one subset):
/// `configCompareByCreationTime` in `pilot/pkg/model/config.go` sorts by `creationTimestamp`,
/// then name, then namespace. Files carry no creation time unless they have
/// `metadata.creationTimestamp` (as `kubectl get -o yaml` output does); without one a resource
/// counts as created at Go's zero time, so among such files the order is by name.
enum ConfigPrecedence {
    static func sorted<Spec>(_ resources: [Resource<Spec>]) -> [Resource<Spec>] {
        let keyed = resources.enumerated().map { (created: creationTime($0.element.metadata.creationTimestamp), index: $0.offset, resource: $0.element) }
        return keyed.sorted { a, b in
            if a.created != b.created { return a.created < b.created }
            // Go's strings.Compare: byte order.
            if a.resource.name != b.resource.name { return a.resource.name.utf8.lexicographicallyPrecedes(b.resource.name.utf8) }
            if a.resource.namespace != b.resource.namespace {
                return a.resource.namespace.utf8.lexicographicallyPrecedes(b.resource.namespace.utf8)
            }
            return a.index < b.index
        }.map(\.resource)
    }

    /// Seconds since 1970 of an RFC 3339 timestamp (Kubernetes keeps whole seconds); missing or
    /// unreadable (the API server would reject it) counts as the earliest time.
    static func creationTime(_ text: String?) -> Double {
        guard let text, !text.isEmpty else { return -.infinity }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date.timeIntervalSince1970.rounded(.down) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date.timeIntervalSince1970.rounded(.down) }
        return -.infinity
    }
}
