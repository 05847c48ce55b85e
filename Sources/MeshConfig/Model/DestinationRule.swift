// Istio networking.istio.io DestinationRule, every field of the v1 API.

public struct DestinationRuleSpec: Decodable, Sendable, Hashable {
    public var host: String?
    public var trafficPolicy: TrafficPolicy?
    public var subsets: [Subset]?
    public var exportTo: [String]?
    public var workloadSelector: WorkloadSelector?

    public init(host: String? = nil, trafficPolicy: TrafficPolicy? = nil, subsets: [Subset]? = nil, exportTo: [String]? = nil, workloadSelector: WorkloadSelector? = nil) {
        self.host = host
        self.trafficPolicy = trafficPolicy
        self.subsets = subsets
        self.exportTo = exportTo
        self.workloadSelector = workloadSelector
    }
}

public struct Subset: Decodable, Sendable, Hashable {
    public var name: String?
    public var labels: [String: String]?
    public var trafficPolicy: TrafficPolicy?
    public init(name: String? = nil, labels: [String: String]? = nil, trafficPolicy: TrafficPolicy? = nil) {
        self.name = name
        self.labels = labels
        self.trafficPolicy = trafficPolicy
    }
}

public struct TrafficPolicy: Decodable, Sendable, Hashable {
    public struct PortTrafficPolicy: Decodable, Sendable, Hashable {
        public var port: PortSelector?
        public var loadBalancer: LoadBalancerSettings?
        public var connectionPool: ConnectionPoolSettings?
        public var outlierDetection: OutlierDetection?
        public var tls: ClientTLSSettings?
        public init(port: PortSelector? = nil, loadBalancer: LoadBalancerSettings? = nil, connectionPool: ConnectionPoolSettings? = nil, outlierDetection: OutlierDetection? = nil, tls: ClientTLSSettings? = nil) {
            self.port = port
            self.loadBalancer = loadBalancer
            self.connectionPool = connectionPool
            self.outlierDetection = outlierDetection
            self.tls = tls
        }
    }
    public struct TunnelSettings: Decodable, Sendable, Hashable {
        public var `protocol`: String?
        public var targetHost: String?
        public var targetPort: UInt32?
    }
    /// Envoy's retry budget: retries allowed as a share of active requests.
    public struct RetryBudget: Decodable, Sendable, Hashable {
        public var percent: Double?
        public var minRetryConcurrency: UInt32?
        public var budgetInterval: IstioDuration?
        public init(percent: Double? = nil, minRetryConcurrency: UInt32? = nil, budgetInterval: IstioDuration? = nil) {
            self.percent = percent
            self.minRetryConcurrency = minRetryConcurrency
            self.budgetInterval = budgetInterval
        }
    }
    public struct ProxyProtocol: Decodable, Sendable, Hashable {
        public enum Version: String, IstioEnum {
            case v1 = "V1"
            case v2 = "V2"
        }
        public var version: Version?
    }

    public var loadBalancer: LoadBalancerSettings?
    public var connectionPool: ConnectionPoolSettings?
    public var outlierDetection: OutlierDetection?
    public var tls: ClientTLSSettings?
    public var portLevelSettings: [PortTrafficPolicy]?
    public var tunnel: TunnelSettings?
    public var proxyProtocol: ProxyProtocol?
    public var retryBudget: RetryBudget?

    public init(loadBalancer: LoadBalancerSettings? = nil, connectionPool: ConnectionPoolSettings? = nil, outlierDetection: OutlierDetection? = nil, tls: ClientTLSSettings? = nil, portLevelSettings: [PortTrafficPolicy]? = nil, tunnel: TunnelSettings? = nil, proxyProtocol: ProxyProtocol? = nil, retryBudget: RetryBudget? = nil) {
        self.loadBalancer = loadBalancer
        self.connectionPool = connectionPool
        self.outlierDetection = outlierDetection
        self.tls = tls
        self.portLevelSettings = portLevelSettings
        self.tunnel = tunnel
        self.proxyProtocol = proxyProtocol
        self.retryBudget = retryBudget
    }
}

public struct LoadBalancerSettings: Decodable, Sendable, Hashable {
    public enum SimpleLB: String, IstioEnum {
        case unspecified = "UNSPECIFIED"
        case leastConn = "LEAST_CONN"
        case random = "RANDOM"
        case passthrough = "PASSTHROUGH"
        case roundRobin = "ROUND_ROBIN"
        case leastRequest = "LEAST_REQUEST"
    }

    public struct ConsistentHashLB: Decodable, Sendable, Hashable {
        public struct HTTPCookie: Decodable, Sendable, Hashable {
            public struct Attribute: Decodable, Sendable, Hashable {
                public var name: String?
                public var value: String?
            }
            public var name: String?
            public var path: String?
            public var ttl: IstioDuration?
            public var attributes: [Attribute]?
            public init(name: String? = nil, path: String? = nil, ttl: IstioDuration? = nil, attributes: [Attribute]? = nil) {
                self.name = name
                self.path = path
                self.ttl = ttl
                self.attributes = attributes
            }
        }
        public struct RingHash: Decodable, Sendable, Hashable {
            public var minimumRingSize: UInt64?
        }
        public struct MagLev: Decodable, Sendable, Hashable {
            public var tableSize: UInt64?
        }
        public var httpHeaderName: String?
        public var httpCookie: HTTPCookie?
        public var useSourceIp: Bool?
        public var httpQueryParameterName: String?
        public var ringHash: RingHash?
        public var maglev: MagLev?
        /// Deprecated; `ringHash.minimumRingSize` replaces it.
        public var minimumRingSize: UInt64?

        public init(httpHeaderName: String? = nil, httpCookie: HTTPCookie? = nil, useSourceIp: Bool? = nil, httpQueryParameterName: String? = nil, ringHash: RingHash? = nil, maglev: MagLev? = nil, minimumRingSize: UInt64? = nil) {
            self.httpHeaderName = httpHeaderName
            self.httpCookie = httpCookie
            self.useSourceIp = useSourceIp
            self.httpQueryParameterName = httpQueryParameterName
            self.ringHash = ringHash
            self.maglev = maglev
            self.minimumRingSize = minimumRingSize
        }
    }

    /// Weights endpoints by the utilization they report in ORCA load reports.
    public struct BackendUtilizationLB: Decodable, Sendable, Hashable {
        public var weightUpdatePeriod: IstioDuration?
        public var weightExpirationPeriod: IstioDuration?
        public var weightStabilizationPeriod: IstioDuration?
        public var errorUtilizationPenaltyPercent: UInt32?
        public var metricNamesForComputingUtilization: [String]?
        public init(weightUpdatePeriod: IstioDuration? = nil, weightExpirationPeriod: IstioDuration? = nil, weightStabilizationPeriod: IstioDuration? = nil,
                    errorUtilizationPenaltyPercent: UInt32? = nil, metricNamesForComputingUtilization: [String]? = nil) {
            self.weightUpdatePeriod = weightUpdatePeriod
            self.weightExpirationPeriod = weightExpirationPeriod
            self.weightStabilizationPeriod = weightStabilizationPeriod
            self.errorUtilizationPenaltyPercent = errorUtilizationPenaltyPercent
            self.metricNamesForComputingUtilization = metricNamesForComputingUtilization
        }
    }

    public struct WarmupConfiguration: Decodable, Sendable, Hashable {
        public var duration: IstioDuration?
        public var minimumPercent: Double?
        public var aggression: Double?
    }

    public var simple: SimpleLB?
    public var consistentHash: ConsistentHashLB?
    public var backendUtilization: BackendUtilizationLB?
    public var localityLbSetting: LocalityLoadBalancerSetting?
    public var zoneAwareLbSetting: ZoneAwareLoadBalancerSetting?
    public var warmupDurationSecs: IstioDuration?
    public var warmup: WarmupConfiguration?

    public init(simple: SimpleLB? = nil, consistentHash: ConsistentHashLB? = nil, backendUtilization: BackendUtilizationLB? = nil, localityLbSetting: LocalityLoadBalancerSetting? = nil, zoneAwareLbSetting: ZoneAwareLoadBalancerSetting? = nil, warmupDurationSecs: IstioDuration? = nil, warmup: WarmupConfiguration? = nil) {
        self.simple = simple
        self.consistentHash = consistentHash
        self.backendUtilization = backendUtilization
        self.localityLbSetting = localityLbSetting
        self.zoneAwareLbSetting = zoneAwareLbSetting
        self.warmupDurationSecs = warmupDurationSecs
        self.warmup = warmup
    }
}

public struct LocalityLoadBalancerSetting: Decodable, Sendable, Hashable {
    public struct Distribute: Decodable, Sendable, Hashable {
        public var from: String?
        public var to: [String: UInt32]?
    }
    public struct Failover: Decodable, Sendable, Hashable {
        public var from: String?
        public var to: String?
    }
    public var distribute: [Distribute]?
    public var failover: [Failover]?
    public var failoverPriority: [String]?
    public var enabled: Bool?
}

/// Envoy's zone-aware routing: region and zone tiers are automatic, `failover` orders regions.
public struct ZoneAwareLoadBalancerSetting: Decodable, Sendable, Hashable {
    public struct Failover: Decodable, Sendable, Hashable {
        public var from: String?
        public var to: String?
        public init(from: String? = nil, to: String? = nil) {
            self.from = from
            self.to = to
        }
    }
    public var enabled: Bool?
    public var failover: [Failover]?
    public var failoverPriority: [String]?
    public var minClusterSize: UInt64?
    public init(enabled: Bool? = nil, failover: [Failover]? = nil, failoverPriority: [String]? = nil, minClusterSize: UInt64? = nil) {
        self.enabled = enabled
        self.failover = failover
        self.failoverPriority = failoverPriority
        self.minClusterSize = minClusterSize
    }
}

public struct ConnectionPoolSettings: Decodable, Sendable, Hashable {
    public struct TCPSettings: Decodable, Sendable, Hashable {
        public struct TcpKeepalive: Decodable, Sendable, Hashable {
            public var probes: UInt32?
            public var time: IstioDuration?
            public var interval: IstioDuration?
        }
        public var maxConnections: Int32?
        public var connectTimeout: IstioDuration?
        public var tcpKeepalive: TcpKeepalive?
        public var maxConnectionDuration: IstioDuration?
        public var idleTimeout: IstioDuration?
        public init(maxConnections: Int32? = nil, connectTimeout: IstioDuration? = nil, tcpKeepalive: TcpKeepalive? = nil, maxConnectionDuration: IstioDuration? = nil, idleTimeout: IstioDuration? = nil) {
            self.maxConnections = maxConnections
            self.connectTimeout = connectTimeout
            self.tcpKeepalive = tcpKeepalive
            self.maxConnectionDuration = maxConnectionDuration
            self.idleTimeout = idleTimeout
        }
    }
    public struct HTTPSettings: Decodable, Sendable, Hashable {
        public enum H2UpgradePolicy: String, IstioEnum {
            case `default` = "DEFAULT"
            case doNotUpgrade = "DO_NOT_UPGRADE"
            case upgrade = "UPGRADE"
        }
        public var http1MaxPendingRequests: Int32?
        public var http2MaxRequests: Int32?
        public var maxRequestsPerConnection: Int32?
        public var maxRetries: Int32?
        public var idleTimeout: IstioDuration?
        public var h2UpgradePolicy: H2UpgradePolicy?
        public var useClientProtocol: Bool?
        public var maxConcurrentStreams: Int32?
        public var http2KeepAlive: ConnectionKeepalive?
        /// HTTP/2 PING keepalive on upstream connections.
        public struct ConnectionKeepalive: Decodable, Sendable, Hashable {
            public var interval: IstioDuration?
            public var timeout: IstioDuration?
            public init(interval: IstioDuration? = nil, timeout: IstioDuration? = nil) {
                self.interval = interval
                self.timeout = timeout
            }
        }
        public init(http1MaxPendingRequests: Int32? = nil, http2MaxRequests: Int32? = nil, maxRequestsPerConnection: Int32? = nil, maxRetries: Int32? = nil, idleTimeout: IstioDuration? = nil, h2UpgradePolicy: H2UpgradePolicy? = nil, useClientProtocol: Bool? = nil, maxConcurrentStreams: Int32? = nil, http2KeepAlive: ConnectionKeepalive? = nil) {
            self.http1MaxPendingRequests = http1MaxPendingRequests
            self.http2MaxRequests = http2MaxRequests
            self.maxRequestsPerConnection = maxRequestsPerConnection
            self.maxRetries = maxRetries
            self.idleTimeout = idleTimeout
            self.h2UpgradePolicy = h2UpgradePolicy
            self.useClientProtocol = useClientProtocol
            self.maxConcurrentStreams = maxConcurrentStreams
            self.http2KeepAlive = http2KeepAlive
        }
    }
    public var tcp: TCPSettings?
    public var http: HTTPSettings?
    public init(tcp: TCPSettings? = nil, http: HTTPSettings? = nil) {
        self.tcp = tcp
        self.http = http
    }
}

public struct OutlierDetection: Decodable, Sendable, Hashable {
    public var splitExternalLocalOriginErrors: Bool?
    public var consecutiveLocalOriginFailures: UInt32?
    public var consecutiveGatewayErrors: UInt32?
    public var consecutive5xxErrors: UInt32?
    public var interval: IstioDuration?
    public var baseEjectionTime: IstioDuration?
    public var maxEjectionPercent: Int32?
    public var minHealthPercent: Int32?
    /// Deprecated; `consecutive5xxErrors` replaces it.
    public var consecutiveErrors: Int32?
    /// HTTP statuses (100–599) counted as errors toward `consecutive5xxErrors` and
    /// `consecutiveGatewayErrors` instead of 5xx; unset means 5xx.
    public var outlierDetectionHttpErrorCodes: [UInt32]?

    public init(splitExternalLocalOriginErrors: Bool? = nil, consecutiveLocalOriginFailures: UInt32? = nil, consecutiveGatewayErrors: UInt32? = nil, consecutive5xxErrors: UInt32? = nil, interval: IstioDuration? = nil, baseEjectionTime: IstioDuration? = nil, maxEjectionPercent: Int32? = nil, minHealthPercent: Int32? = nil, consecutiveErrors: Int32? = nil, outlierDetectionHttpErrorCodes: [UInt32]? = nil) {
        self.splitExternalLocalOriginErrors = splitExternalLocalOriginErrors
        self.consecutiveLocalOriginFailures = consecutiveLocalOriginFailures
        self.consecutiveGatewayErrors = consecutiveGatewayErrors
        self.consecutive5xxErrors = consecutive5xxErrors
        self.interval = interval
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionPercent = maxEjectionPercent
        self.minHealthPercent = minHealthPercent
        self.consecutiveErrors = consecutiveErrors
        self.outlierDetectionHttpErrorCodes = outlierDetectionHttpErrorCodes
    }
}

public struct ClientTLSSettings: Decodable, Sendable, Hashable {
    public enum TLSmode: String, IstioEnum {
        case disable = "DISABLE"
        case simple = "SIMPLE"
        case mutual = "MUTUAL"
        case istioMutual = "ISTIO_MUTUAL"
    }
    public var mode: TLSmode?
    public var clientCertificate: String?
    public var privateKey: String?
    public var caCertificates: String?
    public var credentialName: String?
    public var subjectAltNames: [String]?
    public var sni: String?
    public var insecureSkipVerify: Bool?
    public var caCrl: String?
    public init(mode: TLSmode? = nil, clientCertificate: String? = nil, privateKey: String? = nil, caCertificates: String? = nil, credentialName: String? = nil, subjectAltNames: [String]? = nil, sni: String? = nil, insecureSkipVerify: Bool? = nil, caCrl: String? = nil) {
        self.mode = mode
        self.clientCertificate = clientCertificate
        self.privateKey = privateKey
        self.caCertificates = caCertificates
        self.credentialName = credentialName
        self.subjectAltNames = subjectAltNames
        self.sni = sni
        self.insecureSkipVerify = insecureSkipVerify
        self.caCrl = caCrl
    }
}
