import MeshConfig

/// Everything the proxy counted, summed over its event loops at one moment. The admin server
/// renders it as Istio's metrics (`istio_requests_total`, `istio_request_duration_milliseconds`,
/// `istio_request_bytes`, `istio_response_bytes`);
/// tests read it directly.
public struct StatsSnapshot: Sendable, Hashable {
    /// Upper bounds of the histogram buckets: Envoy's default buckets, which Istio's
    /// `istio_request_duration_milliseconds` (ms), `istio_request_bytes` and
    /// `istio_response_bytes` (bytes) use unless a pod's `sidecar.istio.io/statsHistogramBuckets`
    /// says otherwise. A last, open bucket counts the rest.
    public static let histogramBucketBounds: [Double] = [
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1_800_000, 3_600_000,
    ]

    /// The workload (pod) a request was sent to: what Istio's `destination_workload`,
    /// `destination_version`, `destination_app` and canonical-service labels describe.
    public struct DestinationWorkload: Sendable, Hashable {
        /// The pod or endpoint (`reviews-v2-0`).
        public var instance: String
        /// The workload (Deployment, WorkloadEntry or ServiceEntry) name, Istio's `destination_workload`.
        public var name: String
        public var namespace: String
        public var labels: [String: String]

        public init(instance: String, name: String, namespace: String, labels: [String: String]) {
            self.instance = instance
            self.name = name
            self.namespace = namespace
            self.labels = labels
        }

        init(_ workload: Workload) {
            self.init(instance: workload.name, name: workload.workloadName, namespace: workload.namespace, labels: workload.labels)
        }

        /// The `version` label, or "unknown" (Istio's `destination_version`).
        public var version: String { labels["version"] ?? "unknown" }
        /// The `app` label (or `app.kubernetes.io/name`), or "unknown" (Istio's `destination_app`).
        public var app: String { labels["app"] ?? labels["app.kubernetes.io/name"] ?? "unknown" }
        /// Istio's canonical service: its label, else `app.kubernetes.io/name`, else `app`, else the workload name.
        public var canonicalService: String {
            labels["service.istio.io/canonical-name"] ?? labels["app.kubernetes.io/name"] ?? labels["app"] ?? name
        }
        /// Istio's canonical revision: its label, else `app.kubernetes.io/version`, else `version`, else "latest".
        public var canonicalRevision: String {
            labels["service.istio.io/canonical-revision"] ?? labels["app.kubernetes.io/version"] ?? labels["version"] ?? "latest"
        }
    }

    /// The service a cluster sends to, as Istio's `destination_service*` labels name it.
    public struct ClusterDescriptor: Sendable, Hashable {
        /// Fully qualified (`reviews.default.svc.cluster.local`).
        public var host: String
        public var subset: String?
        public var port: Int
        public var serviceName: String
        public var serviceNamespace: String

        public init(host: String, subset: String?, port: Int, serviceName: String, serviceNamespace: String) {
            self.host = host
            self.subset = subset
            self.port = port
            self.serviceName = serviceName
            self.serviceNamespace = serviceNamespace
        }
    }

    public struct RequestKey: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// The Envoy cluster (`outbound|9080|v2|reviews.default.svc.cluster.local`), or nil when the
        /// request never reached one (no route, direct response, redirect).
        public var cluster: String?
        public var responseCode: Int
        public var responseFlags: ResponseFlags
        /// The endpoint the last attempt went to; nil when none was reached (no route, no
        /// healthy upstream, overflow, an answer before any attempt).
        public var destination: DestinationWorkload?
        /// Istio's `request_protocol` as meshsim reports it: `http` (HTTP/1.x), `http/2`, or
        /// `grpc` (an HTTP/2 request with `content-type: application/grpc…`).
        public var requestProtocol: String
        /// Istio's `grpc_response_status` for gRPC requests (`grpc-status` of the trailers, or of
        /// the head of a trailers-only answer); nil otherwise.
        public var grpcResponseStatus: String?

        public init(cluster: String?, responseCode: Int, responseFlags: ResponseFlags, destination: DestinationWorkload? = nil,
                    requestProtocol: String = "http", grpcResponseStatus: String? = nil) {
            self.cluster = cluster
            self.responseCode = responseCode
            self.responseFlags = responseFlags
            self.destination = destination
            self.requestProtocol = requestProtocol
            self.grpcResponseStatus = grpcResponseStatus
        }

        public static func < (a: RequestKey, b: RequestKey) -> Bool {
            ((a.cluster ?? ""), a.responseCode, a.responseFlags.rawValue, a.destination?.instance ?? "", a.requestProtocol, a.grpcResponseStatus ?? "")
                < ((b.cluster ?? ""), b.responseCode, b.responseFlags.rawValue, b.destination?.instance ?? "", b.requestProtocol, b.grpcResponseStatus ?? "")
        }

        public var description: String {
            "\(cluster ?? "-") \(destination?.instance ?? "-") \(responseCode) \(responseFlags) \(requestProtocol)"
                + (grpcResponseStatus.map { " grpc-status=\($0)" } ?? "")
        }
    }

    public struct RequestStats: Sendable, Hashable {
        public var count: UInt64 = 0
        /// Count per bucket of `histogramBucketBounds` (not cumulative), plus one for larger values.
        public var durationBuckets: [UInt64] = StatsSnapshot.emptyBuckets
        public var durationSumMilliseconds: Double = 0
        /// Istio's `istio_request_bytes`: the request's bytes on the client's connection (head and
        /// body as the client sent them; an HTTP/2 stream's frames), per bucket as above.
        public var requestBytesBuckets: [UInt64] = StatsSnapshot.emptyBuckets
        public var requestBytesSum: UInt64 = 0
        /// Istio's `istio_response_bytes`: the response's bytes on the client's connection.
        public var responseBytesBuckets: [UInt64] = StatsSnapshot.emptyBuckets
        public var responseBytesSum: UInt64 = 0
        /// gRPC only: messages in the request and response bodies (Istio's
        /// `istio_request_messages_total`, `istio_response_messages_total`).
        public var requestMessages: UInt64 = 0
        public var responseMessages: UInt64 = 0

        public init() {}

        mutating func add(_ other: RequestStats) {
            count += other.count
            durationSumMilliseconds += other.durationSumMilliseconds
            requestBytesSum += other.requestBytesSum
            responseBytesSum += other.responseBytesSum
            requestMessages += other.requestMessages
            responseMessages += other.responseMessages
            Self.add(other.durationBuckets, to: &durationBuckets)
            Self.add(other.requestBytesBuckets, to: &requestBytesBuckets)
            Self.add(other.responseBytesBuckets, to: &responseBytesBuckets)
        }

        private static func add(_ buckets: [UInt64], to total: inout [UInt64]) {
            for i in total.indices where i < buckets.count {
                total[i] += buckets[i]
            }
        }
    }

    /// One count per bucket bound, plus one for larger values.
    static let emptyBuckets = [UInt64](repeating: 0, count: histogramBucketBounds.count + 1)

    /// Pool state of one endpoint (address) of a cluster, summed over the event loops.
    public struct EndpointStats: Sendable, Hashable {
        public var activeRequests = 0
        public var activeConnections = 0
        public var connectFailures: UInt64 = 0
        /// Event loops that see the endpoint ejected by outlier detection now: all of them while the
        /// cluster's shared detector has it out (during a reload, those still on the detector that
        /// ejected it), 0 otherwise.
        public var outlierEjectedWorkers = 0
        public init() {}

        mutating func add(_ o: EndpointStats) {
            activeRequests += o.activeRequests
            activeConnections += o.activeConnections
            connectFailures += o.connectFailures
            outlierEjectedWorkers += o.outlierEjectedWorkers
        }
    }

    /// Upstream pool state and counters of one cluster.
    public struct ClusterStats: Sendable, Hashable {
        /// nil only for a cluster no loop has described yet.
        public var descriptor: ClusterDescriptor?
        /// By endpoint address (`127.0.0.1:40123`), for endpoints in the loops' current config.
        public var endpoints: [String: EndpointStats] = [:]
        public var activeRequests = 0
        public var pendingRequests = 0
        public var activeConnections = 0
        public var idleConnections = 0
        public var connectionsOpened: UInt64 = 0
        public var connectFailures: UInt64 = 0
        /// Requests refused by a circuit breaker (503 UO).
        public var overflows: UInt64 = 0
        public var retries: UInt64 = 0
        /// Shadows (`mirror`) of this cluster's requests given up because the request body
        /// outgrew the buffer limit.
        public var shadowsAbandoned: UInt64 = 0
        /// nil when the cluster has no outlier detection.
        public var outlierDetection: OutlierDetectionStats?
        public init() {}

        mutating func add(_ o: ClusterStats) {
            if descriptor == nil { descriptor = o.descriptor }
            for (address, stats) in o.endpoints { endpoints[address, default: EndpointStats()].add(stats) }
            activeRequests += o.activeRequests
            pendingRequests += o.pendingRequests
            activeConnections += o.activeConnections
            idleConnections += o.idleConnections
            connectionsOpened += o.connectionsOpened
            connectFailures += o.connectFailures
            overflows += o.overflows
            retries += o.retries
            shadowsAbandoned += o.shadowsAbandoned
            if let other = o.outlierDetection {
                outlierDetection = outlierDetection ?? OutlierDetectionStats()
                outlierDetection?.add(other)
            }
        }
    }

    /// The listener side.
    public struct DownstreamStats: Sendable, Hashable {
        public var activeConnections = 0
        public var connectionsAccepted: UInt64 = 0
        /// Closed at once because the listener's connection cap was reached.
        public var connectionsOverflowed: UInt64 = 0
        public var activeRequests = 0
        /// Answered 400/426/431/501 for malformed or oversized input.
        public var protocolErrors: UInt64 = 0
        /// WebSocket upgrades the upstream accepted (101), and the tunnels still open (Envoy's
        /// `downstream_cx_upgrades_total` and `_active`).
        public var upgrades: UInt64 = 0
        public var activeUpgrades = 0
        /// Requests whose target is not a path (`OPTIONS *`), answered 404 before routing.
        public var nonRelativePaths: UInt64 = 0
        /// Closed for sending headers too slowly (408).
        public var headerTimeouts: UInt64 = 0
        /// The most request-body bytes the proxy held for one request while the upstream could not
        /// take them (bounded by one socket read when backpressure works).
        public var maxBufferedRequestBytes = 0
        /// The most response bytes queued on one downstream connection (writes not yet taken by
        /// the socket) when the proxy stopped reading from the upstream.
        public var maxQueuedResponseBytes = 0
        public init() {}

        mutating func add(_ o: DownstreamStats) {
            activeConnections += o.activeConnections
            connectionsAccepted += o.connectionsAccepted
            connectionsOverflowed += o.connectionsOverflowed
            activeRequests += o.activeRequests
            protocolErrors += o.protocolErrors
            upgrades += o.upgrades
            activeUpgrades += o.activeUpgrades
            nonRelativePaths += o.nonRelativePaths
            headerTimeouts += o.headerTimeouts
            maxBufferedRequestBytes = max(maxBufferedRequestBytes, o.maxBufferedRequestBytes)
            maxQueuedResponseBytes = max(maxQueuedResponseBytes, o.maxQueuedResponseBytes)
        }
    }

    public var requests: [RequestKey: RequestStats] = [:]
    /// Shadow copies a route's `mirror` sent, keyed like `requests` by the mirror cluster and
    /// the workload that got them. Apart from `requests`: Istio's client proxy reports no
    /// metrics for shadows; the mirror workload's own proxy does (`reporter="destination"`).
    public var mirroredRequests: [RequestKey: RequestStats] = [:]
    public var clusters: [String: ClusterStats] = [:]
    public var downstream = DownstreamStats()
    /// The revision of the snapshot the loops held when collected (the lowest, if a swap was in flight).
    public var revision = 0
    public var workers = 0

    public init() {}

    /// Requests counted for `cluster` (nil: those that reached none), optionally of one code.
    public func requestCount(cluster: String?, responseCode: Int? = nil, flags: ResponseFlags? = nil,
                             requestProtocol: String? = nil, grpcResponseStatus: String? = nil) -> UInt64 {
        requests.filter { key, _ in
            key.cluster == cluster && (responseCode == nil || key.responseCode == responseCode)
                && (flags == nil || key.responseFlags == flags)
                && (requestProtocol == nil || key.requestProtocol == requestProtocol)
                && (grpcResponseStatus == nil || key.grpcResponseStatus == grpcResponseStatus)
        }.reduce(0) { $0 + $1.value.count }
    }

    /// Counts and durations of the requests of `cluster` with this code and flags, whatever
    /// endpoint they reached.
    public func requestStats(cluster: String?, responseCode: Int, flags: ResponseFlags) -> RequestStats {
        var total = RequestStats()
        for (key, value) in requests where key.cluster == cluster && key.responseCode == responseCode && key.responseFlags == flags {
            total.add(value)
        }
        return total
    }

    public var totalRequests: UInt64 { requests.values.reduce(0) { $0 + $1.count } }

    mutating func merge(_ other: StatsSnapshot) {
        for (key, value) in other.requests { requests[key, default: RequestStats()].add(value) }
        for (key, value) in other.mirroredRequests { mirroredRequests[key, default: RequestStats()].add(value) }
        for (key, value) in other.clusters { clusters[key, default: ClusterStats()].add(value) }
        downstream.add(other.downstream)
        revision = workers == 0 ? other.revision : min(revision, other.revision)
        workers += other.workers
    }
}
