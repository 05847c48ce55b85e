import MeshConfig

/// Who a simulated pod is: the names its answers carry (`x-meshsim-workload`,
/// `x-meshsim-version`, `x-meshsim-pod`) so a client can tell which subset served it.
public struct BackendIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The Deployment (Istio's `destination_workload`), e.g. `reviews-v1`.
    public var workload: String
    /// The pod's `version` label (Istio's `destination_version`), e.g. `v1`.
    public var version: String
    /// The pod name, e.g. `reviews-v1-0`.
    public var pod: String
    public var namespace: String

    public init(workload: String, version: String, pod: String, namespace: String = "default") {
        self.workload = workload
        self.version = version
        self.pod = pod
        self.namespace = namespace
    }

    /// The identity of a simulated pod from the service registry.
    public init(_ workload: Workload) {
        self.init(workload: workload.workloadName, version: workload.version, pod: workload.name, namespace: workload.namespace)
    }

    /// `namespace/pod`, the key of `BackendFleet.addresses` (and of the routing snapshot's addresses).
    public var key: String { "\(namespace)/\(pod)" }

    public var description: String { "\(key) (workload \(workload), version \(version))" }
}

/// Where one simulated pod of a fleet listens.
public struct SimulatedPodAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var identity: BackendIdentity

    public init(host: String, port: Int, identity: BackendIdentity) {
        self.host = host
        self.port = port
        self.identity = identity
    }

    public var description: String { "\(identity.key) at \(host):\(port)" }
}
