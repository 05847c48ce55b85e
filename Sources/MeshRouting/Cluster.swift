import MeshConfig

/// An Envoy-style cluster: one (host, subset, port). Named as Istio names it:
/// `outbound|9080|v2|reviews.default.svc.cluster.local`.
public final class Cluster: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    /// Fully qualified.
    public let host: String
    public let subset: String?
    public let port: Int
    /// Short name, for `destination_service_name`.
    public let serviceName: String
    /// Namespace of the Service or ServiceEntry behind `host`, for `destination_service_namespace`;
    /// "unknown" when the registry declares none.
    public let serviceNamespace: String
    public let `protocol`: PortProtocol
    /// What the cluster speaks to its endpoints: from the port's protocol and the
    /// DestinationRule's `h2UpgradePolicy`/`useClientProtocol`, as istiod decides it.
    public let upstreamProtocol: UpstreamProtocol
    /// May be empty: the proxy answers 503 (UH, or NC when `state` is `.undefinedSubset`).
    public let endpoints: [Endpoint]
    /// From the DestinationRule (subset policy over top-level, port-level over both); Istio's
    /// default is LEAST_REQUEST.
    public let loadBalancer: LoadBalancerPolicy
    public let connectionPool: ConnectionPoolSettings?
    public let outlierDetection: OutlierDetection?
    public let tls: ClientTLSSettings?
    /// The subset's labels (empty for the whole service).
    public let subsetLabels: [String: String]
    /// Whether the cluster can serve, and if not, why.
    public let state: ClusterState
    /// `namespace/name` of the DestinationRule that defined the subset and policies, if any.
    public let destinationRule: String?
    /// Where the cluster sits in its snapshot's `clusters`, so that the proxy can keep per-cluster
    /// state in an array and find it without hashing.
    public let position: Int

    init(
        host: String, subset: String?, port: Int, serviceName: String, serviceNamespace: String = "unknown",
        protocol: PortProtocol, endpoints: [Endpoint],
        loadBalancer: LoadBalancerPolicy, connectionPool: ConnectionPoolSettings?, outlierDetection: OutlierDetection?,
        tls: ClientTLSSettings?, subsetLabels: [String: String], state: ClusterState, destinationRule: String?, position: Int
    ) {
        self.position = position
        self.name = Cluster.name(host: host, subset: subset, port: port)
        self.host = host
        self.subset = subset
        self.port = port
        self.serviceName = serviceName
        self.serviceNamespace = serviceNamespace
        self.protocol = `protocol`
        self.upstreamProtocol = UpstreamProtocol(port: `protocol`, connectionPool: connectionPool)
        self.endpoints = endpoints
        self.loadBalancer = loadBalancer
        self.connectionPool = connectionPool
        self.outlierDetection = outlierDetection
        self.tls = tls
        self.subsetLabels = subsetLabels
        self.state = state
        self.destinationRule = destinationRule
        self.destinationHeaderValue = subset.map { "\(host)|\($0)" } ?? host
    }

    /// Istio's subset key: `outbound|<port>|<subset>|<host>`, the subset empty for the whole service.
    public static func name(host: String, subset: String?, port: Int) -> String {
        "outbound|\(port)|\(subset ?? "")|\(host)"
    }

    /// Value of `x-meshsim-destination`: `reviews.default.svc.cluster.local|v2`, or the host
    /// alone for a cluster without a subset.
    public let destinationHeaderValue: String

    public static func == (a: Cluster, b: Cluster) -> Bool { a === b || a.name == b.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    public var description: String { name }
}

/// Whether a cluster has somewhere to send requests, and the response flag when it has not.
public enum ClusterState: Sendable, Hashable {
    /// At least one endpoint.
    case ready
    /// The registry declares no workload at all for the host (only routing files were given,
    /// or a ServiceEntry resolved by DNS): endpoints were not checked.
    case unchecked
    /// Workloads exist for the host, but none carries the subset's labels: Envoy answers
    /// 503 `no healthy upstream` (UH).
    case noHealthyUpstream
    /// The subset is defined by no DestinationRule for the host, or the service has no such
    /// port, so Istio builds no such cluster: Envoy answers 503 with response flag NC (cluster
    /// not found).
    case undefinedSubset

    /// Envoy's response flag when the proxy cannot forward, nil when it can.
    public var responseFlag: String? {
        switch self {
        case .ready, .unchecked: return nil
        case .noHealthyUpstream: return "UH"
        case .undefinedSubset: return "NC"
        }
    }
}

public struct Endpoint: Sendable, Hashable {
    /// Labels, version, name, annotations.
    public let workload: Workload
    /// nil when not known (a simulated pod not started).
    public let address: EndpointAddress?
    public let weight: UInt32

    public init(workload: Workload, address: EndpointAddress?, weight: UInt32) {
        self.workload = workload
        self.address = address
        self.weight = weight
    }
}

public enum LoadBalancerPolicy: Sendable, Hashable {
    case roundRobin, leastRequest, random, passthrough
    /// Header name, cookie (name/path/ttl), source IP, or query parameter.
    case consistentHash(HashKey)

    /// Istio's mapping of a DestinationRule's load balancer; unset or UNSPECIFIED is LEAST_REQUEST
    /// (Istio's default), LEAST_CONN is its deprecated alias.
    init(_ settings: LoadBalancerSettings?) {
        if let hash = settings?.consistentHash, let key = HashKey(hash) {
            self = .consistentHash(key)
            return
        }
        switch settings?.simple {
        case .roundRobin: self = .roundRobin
        case .random: self = .random
        case .passthrough: self = .passthrough
        case .leastConn, .leastRequest, .unspecified, nil: self = .leastRequest
        }
    }
}

/// What a consistent-hash load balancer hashes on.
public enum HashKey: Sendable, Hashable {
    /// A request header; the name is lower-cased.
    case header(String)
    case cookie(name: String, path: String?, ttl: IstioDuration?)
    case sourceIP
    case queryParameter(String)

    init?(_ settings: LoadBalancerSettings.ConsistentHashLB) {
        if let header = settings.httpHeaderName {
            self = .header(header.lowercased())
        } else if let cookie = settings.httpCookie, let name = cookie.name {
            self = .cookie(name: name, path: cookie.path, ttl: cookie.ttl)
        } else if settings.useSourceIp == true {
            self = .sourceIP
        } else if let parameter = settings.httpQueryParameterName {
            self = .queryParameter(parameter)
        } else {
            return nil
        }
    }
}
