/// The kinds meshsim reads.
public enum ResourceKind: String, Sendable, Hashable, CaseIterable, Comparable {
    case virtualService = "VirtualService"
    case destinationRule = "DestinationRule"
    case serviceEntry = "ServiceEntry"
    case workloadEntry = "WorkloadEntry"
    case service = "Service"
    case deployment = "Deployment"
    case namespace = "Namespace"

    /// The API groups/versions each kind is accepted in.
    public var apiVersions: [String] {
        switch self {
        case .virtualService, .destinationRule, .serviceEntry, .workloadEntry:
            return ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"]
        case .service, .namespace: return ["v1"]
        case .deployment: return ["apps/v1"]
        }
    }

    public var isIstio: Bool { apiVersions[0].hasPrefix("networking.istio.io/") }

    public static func < (a: ResourceKind, b: ResourceKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Where a resource came from, and the line of every field in it, so that any later stage
/// (validation, analysis, routing) can point at `file:line` from a field path alone.
public struct SourceLocation: Sendable, Hashable {
    public var file: String
    /// The line the document starts on.
    public var line: Int
    /// Lines of fields, keyed by path from the document root (`spec.http[0].route`).
    var fieldLines: [FieldPath: Int]

    public init(file: String, line: Int, fieldLines: [FieldPath: Int] = [:]) {
        self.file = file
        self.line = line
        self.fieldLines = fieldLines
    }

    /// The line of `path` (from the document root), or of its nearest ancestor that has one.
    public func line(for path: FieldPath) -> Int {
        var components = path.components
        while true {
            if let l = fieldLines[FieldPath(components)] { return l }
            if components.isEmpty { return line }
            components.removeLast()
        }
    }

    /// The line of a path inside `spec`, the form Istio's messages use (`http[0].route`).
    public func line(forSpecPath path: FieldPath) -> Int {
        line(for: FieldPath([.key("spec")] + path.components))
    }
}

/// One decoded resource: its identity, its spec, and where it was written.
public struct Resource<Spec: Sendable & Hashable>: Sendable, Hashable {
    public var kind: ResourceKind
    public var apiVersion: String
    public var metadata: ObjectMeta
    public var spec: Spec
    public var location: SourceLocation

    public init(kind: ResourceKind, apiVersion: String, metadata: ObjectMeta, spec: Spec, location: SourceLocation) {
        self.kind = kind
        self.apiVersion = apiVersion
        self.metadata = metadata
        self.spec = spec
        self.location = location
    }

    public var name: String { metadata.name ?? "" }
    /// Filled in by the loader (the default namespace when the file names none).
    public var namespace: String { metadata.namespace ?? "default" }
    public var labels: [String: String] { metadata.labels ?? [:] }
    public var annotations: [String: String] { metadata.annotations ?? [:] }
    /// `default/reviews`, as istioctl names resources.
    public var qualifiedName: String { "\(namespace)/\(name)" }
}

public typealias VirtualService = Resource<VirtualServiceSpec>
public typealias DestinationRule = Resource<DestinationRuleSpec>
public typealias ServiceEntry = Resource<ServiceEntrySpec>
public typealias WorkloadEntry = Resource<WorkloadEntrySpec>
public typealias KubeService = Resource<KubeServiceSpec>
public typealias Deployment = Resource<DeploymentSpec>
public typealias Namespace = Resource<NamespaceSpec>

/// Everything read from a set of files: the input to validation, analysis and compilation.
public struct MeshResources: Sendable, Hashable {
    public var virtualServices: [VirtualService] = []
    public var destinationRules: [DestinationRule] = []
    public var serviceEntries: [ServiceEntry] = []
    public var workloadEntries: [WorkloadEntry] = []
    public var services: [KubeService] = []
    public var deployments: [Deployment] = []
    public var namespaces: [Namespace] = []

    public init() {}

    public var isEmpty: Bool { count == 0 }
    public var count: Int {
        virtualServices.count + destinationRules.count + serviceEntries.count + workloadEntries.count
            + services.count + deployments.count + namespaces.count
    }

    /// Adds every resource of `other` after this one's.
    public mutating func merge(_ other: MeshResources) {
        virtualServices += other.virtualServices
        destinationRules += other.destinationRules
        serviceEntries += other.serviceEntries
        workloadEntries += other.workloadEntries
        services += other.services
        deployments += other.deployments
        namespaces += other.namespaces
    }
}
