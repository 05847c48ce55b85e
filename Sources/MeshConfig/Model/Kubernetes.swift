// The parts of Kubernetes objects meshsim reads. Other fields are ignored (LenientlyDecoded),
// so real `kubectl get -o yaml` or `helm template` output decodes as is.

public struct ObjectMeta: LenientlyDecoded, Sendable, Hashable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    /// RFC 3339, as the API server writes it (`2024-05-01T12:00:00Z`). Istio orders
    /// VirtualServices and DestinationRules by it (then by name and namespace) when several
    /// claim the same host.
    public var creationTimestamp: String?

    public init(
        name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil,
        creationTimestamp: String? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.creationTimestamp = creationTimestamp
    }
}

/// A Kubernetes int-or-string (`targetPort: 8080` or `targetPort: http`).
public enum IntOrString: Decodable, Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public var description: String {
        switch self {
        case .int(let i): return "\(i)"
        case .string(let s): return s
        }
    }
}

public struct KubeServicePort: LenientlyDecoded, Sendable, Hashable {
    public var name: String?
    public var port: Int?
    public var targetPort: IntOrString?
    public var `protocol`: String?
    public var appProtocol: String?

    public init(name: String? = nil, port: Int? = nil, targetPort: IntOrString? = nil, protocol: String? = nil, appProtocol: String? = nil) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.protocol = `protocol`
        self.appProtocol = appProtocol
    }
}

public struct KubeServiceSpec: LenientlyDecoded, Sendable, Hashable {
    public var selector: [String: String]?
    public var ports: [KubeServicePort]?
    public var type: String?
    public var clusterIP: String?

    public init(selector: [String: String]? = nil, ports: [KubeServicePort]? = nil, type: String? = nil, clusterIP: String? = nil) {
        self.selector = selector
        self.ports = ports
        self.type = type
        self.clusterIP = clusterIP
    }
}

public struct LabelSelector: LenientlyDecoded, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public init(matchLabels: [String: String]? = nil) { self.matchLabels = matchLabels }
}

public struct ContainerPort: LenientlyDecoded, Sendable, Hashable {
    public var name: String?
    public var containerPort: Int?
}

public struct Container: LenientlyDecoded, Sendable, Hashable {
    public var name: String?
    public var image: String?
    public var ports: [ContainerPort]?
}

public struct PodSpec: LenientlyDecoded, Sendable, Hashable {
    public var containers: [Container]?
}

public struct PodTemplate: LenientlyDecoded, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec?
    public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct DeploymentSpec: LenientlyDecoded, Sendable, Hashable {
    public var replicas: Int?
    public var selector: LabelSelector?
    public var template: PodTemplate?

    public init(replicas: Int? = nil, selector: LabelSelector? = nil, template: PodTemplate? = nil) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }

    /// Kubernetes' default is one replica.
    public var effectiveReplicas: Int { replicas ?? 1 }
    public var podLabels: [String: String] { template?.metadata?.labels ?? [:] }
    public var podAnnotations: [String: String] { template?.metadata?.annotations ?? [:] }
}

/// A Namespace has no spec meshsim reads: only its labels (istio-injection, istio.io/rev).
public struct NamespaceSpec: LenientlyDecoded, Sendable, Hashable {
    public init() {}
}
