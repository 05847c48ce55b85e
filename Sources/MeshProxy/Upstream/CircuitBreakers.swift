import Atomics
import MeshConfig
import MeshRouting
import NIOConcurrencyHelpers

/// A cluster's circuit breakers (Envoy's resource manager), from the DestinationRule's
/// `connectionPool`. Envoy counts these across all workers, so they are the one piece of
/// request-path state shared between event loops; a cluster whose DestinationRule sets no limit
/// has no `ClusterLimits` at all and pays nothing.
final class ClusterLimits: Sendable {
    /// `tcp.maxConnections` (Envoy max_connections).
    let maxConnections: Int
    /// `http.http1MaxPendingRequests` (max_pending_requests): requests waiting for a connection.
    let maxPendingRequests: Int
    /// `http.http2MaxRequests` (max_requests): requests in flight to the cluster.
    let maxRequests: Int

    let connections = ManagedAtomic<Int>(0)
    let pendingRequests = ManagedAtomic<Int>(0)
    let requests = ManagedAtomic<Int>(0)

    /// Istio leaves a breaker at 2^32-1 (off) when the field is unset or 0.
    static let unlimited = Int(UInt32.max)

    init(maxConnections: Int, maxPendingRequests: Int, maxRequests: Int) {
        self.maxConnections = maxConnections
        self.maxPendingRequests = maxPendingRequests
        self.maxRequests = maxRequests
    }

    /// nil when the settings limit nothing (the common case).
    static func make(from settings: ConnectionPoolSettings?) -> ClusterLimits? {
        func limit(_ value: Int32?) -> Int { (value ?? 0) > 0 ? Int(value ?? 0) : unlimited }
        let connections = limit(settings?.tcp?.maxConnections)
        let pending = limit(settings?.http?.http1MaxPendingRequests)
        let requests = limit(settings?.http?.http2MaxRequests)
        if connections == unlimited && pending == unlimited && requests == unlimited { return nil }
        return ClusterLimits(maxConnections: connections, maxPendingRequests: pending, maxRequests: requests)
    }

    func tryAcquireConnection() -> Bool { Self.tryIncrement(connections, below: maxConnections) }
    func releaseConnection() { connections.wrappingDecrement(ordering: .relaxed) }
    func tryAcquirePending() -> Bool { Self.tryIncrement(pendingRequests, below: maxPendingRequests) }
    func releasePending() { pendingRequests.wrappingDecrement(ordering: .relaxed) }
    func tryAcquireRequest() -> Bool { Self.tryIncrement(requests, below: maxRequests) }
    func releaseRequest() { requests.wrappingDecrement(ordering: .relaxed) }

    private static func tryIncrement(_ counter: ManagedAtomic<Int>, below limit: Int) -> Bool {
        if counter.wrappingIncrementThenLoad(ordering: .relaxed) > limit {
            counter.wrappingDecrement(ordering: .relaxed)
            return false
        }
        return true
    }
}

/// Hands every event loop the same `ClusterLimits` for a cluster name and settings, so that
/// limits hold proxy-wide. Consulted when a loop first meets a cluster (once per config
/// revision), never per request.
final class CircuitBreakerRegistry: Sendable {
    private struct Key: Hashable {
        var cluster: String
        var settings: ConnectionPoolSettings?
    }
    private let table = NIOLockedValueBox<[Key: ClusterLimits]>([:])

    func limits(for cluster: Cluster) -> ClusterLimits? {
        guard let fresh = ClusterLimits.make(from: cluster.connectionPool) else { return nil }
        let key = Key(cluster: cluster.name, settings: cluster.connectionPool)
        return table.withLockedValue { table in
            if let existing = table[key] { return existing }
            table[key] = fresh
            return fresh
        }
    }
}
