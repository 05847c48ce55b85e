import NIOCore

/// Something the data plane decided on its own that an operator wants in the log: today, an
/// endpoint ejected by outlier detection or returned to service. Delivered to
/// `ProxyConfiguration.eventLog` on the event loop that decided it; keep the handler short.
public struct ProxyEvent: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case outlierEjected = "ejected"
        case outlierReturned = "returned"
    }

    public var kind: Kind
    /// The event loop (worker) on which the cluster's shared detector decided it: the one whose
    /// request reached the threshold, or for a return the one that runs the sweep (worker 0).
    public var worker: Int
    /// `outbound|9080|v2|reviews.default.svc.cluster.local`
    public var cluster: String
    /// `127.0.0.1:40123`
    public var endpoint: String
    /// The pod or workload behind the endpoint (`reviews-v2-0`).
    public var pod: String
    /// Envoy's ejection type (`consecutive_5xx`, `consecutive_gateway_failure`,
    /// `consecutive_local_origin_failure`), or why the endpoint came back.
    public var reason: String
    /// For an ejection, how long it lasts at least (un-ejection waits for the next sweep); for a
    /// return, how long the endpoint was out.
    public var duration: TimeAmount
    /// How many times the endpoint has been ejected (Envoy's `num_ejections`).
    public var ejections: Int

    public var description: String {
        let milliseconds = duration.nanoseconds / 1_000_000
        switch kind {
        case .outlierEjected:
            return "info: outlier detection: ejected \(pod) (\(endpoint)) from \(cluster) on worker \(worker): \(reason); "
                + "ejection \(ejections), for \(milliseconds)ms"
        case .outlierReturned:
            return "info: outlier detection: returned \(pod) (\(endpoint)) to \(cluster) on worker \(worker): \(reason) after \(milliseconds)ms"
        }
    }
}
