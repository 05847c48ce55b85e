/// The protocol of a service port, as Istio infers it: the ServiceEntry `protocol`, a Kubernetes
/// `appProtocol`, or the port name's prefix (`http-web`, `grpc-api`, `http2-x`).
public enum PortProtocol: String, Sendable, Hashable {
    case http = "HTTP"
    case http2 = "HTTP2"
    case grpc = "GRPC"
    case https = "HTTPS"
    case tcp = "TCP"
    case tls = "TLS"
    case unknown = "UNKNOWN"

    public init(istioName: String?) {
        guard let name = istioName?.uppercased() else { self = .unknown; return }
        switch name {
        case "HTTP", "HTTP1", "HTTP/1.1": self = .http
        case "HTTP2", "H2C", "KUBERNETES.IO/H2C": self = .http2
        case "GRPC", "GRPC-WEB": self = .grpc
        case "HTTPS": self = .https
        case "TCP", "MONGO", "MYSQL", "REDIS": self = .tcp
        case "TLS": self = .tls
        default: self = .unknown
        }
    }

    /// Istio's protocol selection from a Service port: appProtocol first, then the name prefix.
    public init(portName: String?, appProtocol: String?) {
        if let appProtocol {
            let p = PortProtocol(istioName: appProtocol)
            if p != .unknown { self = p; return }
        }
        let prefix = portName?.split(separator: "-", maxSplits: 1).first.map(String.init) ?? portName
        self = PortProtocol(istioName: prefix)
    }

    /// Whether an HTTP route table applies (HTTP/1, HTTP/2, gRPC; unknown is sniffed as HTTP by meshsim).
    public var isHTTP: Bool { self == .http || self == .http2 || self == .grpc || self == .unknown }
    /// Whether the upstream speaks HTTP/2 (h2c).
    public var isHTTP2: Bool { self == .http2 || self == .grpc }
}

public struct ServicePortInfo: Sendable, Hashable {
    public var number: Int
    public var name: String?
    public var `protocol`: PortProtocol
    /// The port on the workload (Kubernetes targetPort, ServiceEntry targetPort), by number or name.
    public var targetPort: IntOrString?

    public init(number: Int, name: String?, protocol: PortProtocol, targetPort: IntOrString?) {
        self.number = number
        self.name = name
        self.protocol = `protocol`
        self.targetPort = targetPort
    }
}

/// One instance that can receive traffic: a simulated pod of a Deployment, a WorkloadEntry,
/// or an inline ServiceEntry endpoint.
public struct Workload: Sendable, Hashable {
    public enum Origin: Sendable, Hashable {
        /// Pod `index` of a Deployment; meshsim runs it as a simulated backend.
        case deployment(name: String, index: Int)
        case workloadEntry(name: String)
        case serviceEntryEndpoint(serviceEntry: String, index: Int)
    }

    public var name: String
    public var namespace: String
    public var labels: [String: String]
    /// Behaviour annotations (`meshsim.dev/latency`, …) for simulated pods.
    public var annotations: [String: String]
    public var origin: Origin
    /// A real address (ServiceEntry/WorkloadEntry); nil for simulated pods, which get one when started.
    public var address: String?
    /// Named ports of a WorkloadEntry (`ports: {http: 8080}`).
    public var ports: [String: UInt32]
    public var weight: UInt32

    public init(name: String, namespace: String, labels: [String: String], annotations: [String: String] = [:], origin: Origin, address: String? = nil, ports: [String: UInt32] = [:], weight: UInt32 = 1) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.origin = origin
        self.address = address
        self.ports = ports
        self.weight = weight
    }

    /// The workload's `version` label, which Istio reports as `destination_version`.
    public var version: String { labels["version"] ?? "unknown" }
    /// The workload (Deployment) name Istio reports as `destination_workload`.
    public var workloadName: String {
        switch origin {
        case .deployment(let name, _): return name
        case .workloadEntry(let name): return name
        case .serviceEntryEndpoint(let se, _): return se
        }
    }

    public func matches(_ selector: [String: String]) -> Bool {
        selector.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// A service the mesh knows: a Kubernetes Service or a ServiceEntry host, with its workloads.
public struct MeshService: Sendable, Hashable {
    public enum Origin: Sendable, Hashable {
        case kubernetesService(String)
        case serviceEntry(String)
    }

    /// Fully qualified: `reviews.default.svc.cluster.local`, or the ServiceEntry host as written.
    public var hostname: String
    public var namespace: String
    public var ports: [ServicePortInfo]
    public var workloads: [Workload]
    public var origin: Origin
    public var resolution: ServiceEntrySpec.Resolution?

    public init(hostname: String, namespace: String, ports: [ServicePortInfo], workloads: [Workload], origin: Origin, resolution: ServiceEntrySpec.Resolution? = nil) {
        self.hostname = hostname
        self.namespace = namespace
        self.ports = ports
        self.workloads = workloads
        self.origin = origin
        self.resolution = resolution
    }

    /// The short name (`reviews`), as Istio's `destination_service_name`.
    public var shortName: String {
        if case .kubernetesService(let name) = origin { return name }
        return hostname
    }
}

/// Every service and workload declared by a set of resources: what a cluster's registry would
/// hold. The routing compiler, the analyzers and the simulated backends all read it, so they
/// agree on which pods a subset selects.
public struct ServiceRegistry: Sendable, Hashable {
    public private(set) var services: [MeshService] = []
    private var byHost: [String: Int] = [:]

    public init(_ resources: MeshResources) {
        let pods = resources.deployments.flatMap(Self.pods)
        for service in resources.services {
            let selector = service.spec.selector ?? [:]
            // A Service without a selector selects nothing (its endpoints are managed by hand).
            let selected = selector.isEmpty ? [] : pods.filter { $0.namespace == service.namespace && $0.matches(selector) }
            let ports = (service.spec.ports ?? []).map { p in
                ServicePortInfo(number: p.port ?? 0, name: p.name, protocol: PortProtocol(portName: p.name, appProtocol: p.appProtocol), targetPort: p.targetPort)
            }
            add(MeshService(
                hostname: HostName.fullyQualified(service.name, namespace: service.namespace), namespace: service.namespace,
                ports: ports, workloads: selected, origin: .kubernetesService(service.name)))
        }
        let entries = resources.workloadEntries.map { entry in
            Workload(
                name: entry.name, namespace: entry.namespace, labels: entry.spec.labels ?? [:], annotations: entry.annotations,
                origin: .workloadEntry(name: entry.name), address: entry.spec.address, ports: entry.spec.ports ?? [:],
                weight: entry.spec.weight ?? 1)
        }
        for se in resources.serviceEntries {
            var workloads: [Workload] = []
            if let selector = se.spec.workloadSelector?.labels {
                workloads += entries.filter { $0.namespace == se.namespace && $0.matches(selector) }
                workloads += pods.filter { $0.namespace == se.namespace && $0.matches(selector) }
            } else {
                for (i, endpoint) in (se.spec.endpoints ?? []).enumerated() {
                    workloads.append(Workload(
                        name: "\(se.name)-endpoint-\(i)", namespace: se.namespace, labels: endpoint.labels ?? [:],
                        origin: .serviceEntryEndpoint(serviceEntry: se.name, index: i), address: endpoint.address,
                        ports: endpoint.ports ?? [:], weight: endpoint.weight ?? 1))
                }
            }
            let ports = (se.spec.ports ?? []).map { p in
                ServicePortInfo(
                    number: Int(p.number ?? 0), name: p.name,
                    protocol: p.protocol.map { PortProtocol(istioName: $0) } ?? PortProtocol(portName: p.name, appProtocol: nil),
                    targetPort: p.targetPort.map { .int(Int($0)) })
            }
            for host in se.spec.hosts ?? [] {
                add(MeshService(
                    hostname: host, namespace: se.namespace, ports: ports, workloads: workloads,
                    origin: .serviceEntry(se.qualifiedName), resolution: se.spec.resolution))
            }
        }
    }

    private mutating func add(_ service: MeshService) {
        if let i = byHost[service.hostname] {
            // The same host from two sources (Service and ServiceEntry): pool their workloads.
            services[i].workloads += service.workloads
            if services[i].ports.isEmpty { services[i].ports = service.ports }
        } else {
            byHost[service.hostname] = services.count
            services.append(service)
        }
    }

    /// The simulated pods of a Deployment: `replicas` of them, named `<deployment>-<i>`.
    public static func pods(of deployment: Deployment) -> [Workload] {
        (0..<max(0, deployment.spec.effectiveReplicas)).map { i in
            Workload(
                name: "\(deployment.name)-\(i)", namespace: deployment.namespace, labels: deployment.spec.podLabels,
                annotations: deployment.spec.podAnnotations, origin: .deployment(name: deployment.name, index: i))
        }
    }

    /// The service for a fully qualified host, or for a wildcard ServiceEntry host covering it.
    public func service(forHost host: String) -> MeshService? {
        if let i = byHost[host] { return services[i] }
        let lower = host.lowercased()
        if let i = byHost[lower] { return services[i] }
        return services.filter { HostName.isWildcard($0.hostname) && HostName.matches(pattern: $0.hostname, host: host) }
            .max { $0.hostname.count < $1.hostname.count }
    }

    /// Whether the registry declares any service for the host.
    public func knows(host: String) -> Bool { service(forHost: host) != nil }

    /// Workloads of the host whose labels include every label of `selector` (a subset's labels).
    public func workloads(forHost host: String, selector: [String: String] = [:]) -> [Workload] {
        (service(forHost: host)?.workloads ?? []).filter { $0.matches(selector) }
    }
}
