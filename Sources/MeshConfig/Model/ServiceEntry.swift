// Istio networking.istio.io ServiceEntry and WorkloadEntry, every field of the v1 API.

public struct ServicePort: Decodable, Sendable, Hashable {
    public var number: UInt32?
    public var `protocol`: String?
    public var name: String?
    public var targetPort: UInt32?
    public init(number: UInt32? = nil, protocol: String? = nil, name: String? = nil, targetPort: UInt32? = nil) {
        self.number = number
        self.protocol = `protocol`
        self.name = name
        self.targetPort = targetPort
    }
}

public struct ServiceEntrySpec: Decodable, Sendable, Hashable {
    public enum Location: String, IstioEnum {
        case meshExternal = "MESH_EXTERNAL"
        case meshInternal = "MESH_INTERNAL"
    }
    public enum Resolution: String, IstioEnum {
        case none = "NONE"
        case `static` = "STATIC"
        case dns = "DNS"
        case dnsRoundRobin = "DNS_ROUND_ROBIN"
        /// Envoy's dynamic forward proxy: wildcard hosts resolved per request.
        case dynamicDNS = "DYNAMIC_DNS"
    }

    public var hosts: [String]?
    public var addresses: [String]?
    public var ports: [ServicePort]?
    public var location: Location?
    public var resolution: Resolution?
    public var endpoints: [WorkloadEntrySpec]?
    public var workloadSelector: WorkloadSelector?
    public var exportTo: [String]?
    public var subjectAltNames: [String]?

    public init(hosts: [String]? = nil, addresses: [String]? = nil, ports: [ServicePort]? = nil, location: Location? = nil, resolution: Resolution? = nil, endpoints: [WorkloadEntrySpec]? = nil, workloadSelector: WorkloadSelector? = nil, exportTo: [String]? = nil, subjectAltNames: [String]? = nil) {
        self.hosts = hosts
        self.addresses = addresses
        self.ports = ports
        self.location = location
        self.resolution = resolution
        self.endpoints = endpoints
        self.workloadSelector = workloadSelector
        self.exportTo = exportTo
        self.subjectAltNames = subjectAltNames
    }
}

public struct WorkloadEntrySpec: Decodable, Sendable, Hashable {
    public var address: String?
    public var ports: [String: UInt32]?
    public var labels: [String: String]?
    public var network: String?
    public var locality: String?
    public var weight: UInt32?
    public var serviceAccount: String?

    public init(address: String? = nil, ports: [String: UInt32]? = nil, labels: [String: String]? = nil, network: String? = nil, locality: String? = nil, weight: UInt32? = nil, serviceAccount: String? = nil) {
        self.address = address
        self.ports = ports
        self.labels = labels
        self.network = network
        self.locality = locality
        self.weight = weight
        self.serviceAccount = serviceAccount
    }
}
