/// Everything the proxy counted, summed over its event loops at one moment. The admin server
/// renders it as Istio's metrics (`istio_requests_total`, `istio_request_duration_milliseconds`);
/// tests read it directly.
public struct StatsSnapshot: Sendable, Hashable {
    /// Upper bounds (ms) of the latency buckets: Envoy's default histogram buckets, which
    /// Istio's `istio_request_duration_milliseconds` uses. A last, open bucket counts the rest.
    public static let durationBucketBounds: [Double] = [
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1_800_000, 3_600_000,
    ]

    public struct RequestKey: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// The Envoy cluster (`outbound|9080|v2|reviews.default.svc.cluster.local`), or nil when the
        /// request never reached one (no route, direct response, redirect).
        public var cluster: String?
        public var responseCode: Int
        public var responseFlags: ResponseFlags

        public init(cluster: String?, responseCode: Int, responseFlags: ResponseFlags) {
            self.cluster = cluster
            self.responseCode = responseCode
            self.responseFlags = responseFlags
        }

        public static func < (a: RequestKey, b: RequestKey) -> Bool {
            ((a.cluster ?? ""), a.responseCode, a.responseFlags.rawValue) < ((b.cluster ?? ""), b.responseCode, b.responseFlags.rawValue)
        }

        public var description: String { "\(cluster ?? "-") \(responseCode) \(responseFlags)" }
    }

    public struct RequestStats: Sendable, Hashable {
        public var count: UInt64 = 0
        /// Count per bucket of `durationBucketBounds` (not cumulative), plus one for larger values.
        public var durationBuckets: [UInt64] = Array(repeating: 0, count: StatsSnapshot.durationBucketBounds.count + 1)
        public var durationSumMilliseconds: Double = 0

        public init() {}

        mutating func add(_ other: RequestStats) {
            count += other.count
            durationSumMilliseconds += other.durationSumMilliseconds
            for i in durationBuckets.indices where i < other.durationBuckets.count {
                durationBuckets[i] += other.durationBuckets[i]
            }
        }
    }

    /// Upstream pool state and counters of one cluster.
    public struct ClusterStats: Sendable, Hashable {
        public var activeRequests = 0
        public var pendingRequests = 0
        public var activeConnections = 0
        public var idleConnections = 0
        public var connectionsOpened: UInt64 = 0
        public var connectFailures: UInt64 = 0
        /// Requests refused by a circuit breaker (503 UO).
        public var overflows: UInt64 = 0
        public var retries: UInt64 = 0
        public init() {}

        mutating func add(_ o: ClusterStats) {
            activeRequests += o.activeRequests
            pendingRequests += o.pendingRequests
            activeConnections += o.activeConnections
            idleConnections += o.idleConnections
            connectionsOpened += o.connectionsOpened
            connectFailures += o.connectFailures
            overflows += o.overflows
            retries += o.retries
        }
    }

    /// The listener side.
    public struct DownstreamStats: Sendable, Hashable {
        public var activeConnections = 0
        public var connectionsAccepted: UInt64 = 0
        /// Closed at once because the listener's connection cap was reached.
        public var connectionsOverflowed: UInt64 = 0
        public var activeRequests = 0
        /// Answered 400/431 for malformed or oversized input.
        public var protocolErrors: UInt64 = 0
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
            headerTimeouts += o.headerTimeouts
            maxBufferedRequestBytes = max(maxBufferedRequestBytes, o.maxBufferedRequestBytes)
            maxQueuedResponseBytes = max(maxQueuedResponseBytes, o.maxQueuedResponseBytes)
        }
    }

    public var requests: [RequestKey: RequestStats] = [:]
    public var clusters: [String: ClusterStats] = [:]
    public var downstream = DownstreamStats()
    /// The revision of the snapshot the loops held when collected (the lowest, if a swap was in flight).
    public var revision = 0
    public var workers = 0

    public init() {}

    /// Requests counted for `cluster` (nil: those that reached none), optionally of one code.
    public func requestCount(cluster: String?, responseCode: Int? = nil, flags: ResponseFlags? = nil) -> UInt64 {
        requests.filter { key, _ in
            key.cluster == cluster && (responseCode == nil || key.responseCode == responseCode)
                && (flags == nil || key.responseFlags == flags)
        }.reduce(0) { $0 + $1.value.count }
    }

    public var totalRequests: UInt64 { requests.values.reduce(0) { $0 + $1.count } }

    mutating func merge(_ other: StatsSnapshot) {
        for (key, value) in other.requests { requests[key, default: RequestStats()].add(value) }
        for (key, value) in other.clusters { clusters[key, default: ClusterStats()].add(value) }
        downstream.add(other.downstream)
        revision = workers == 0 ? other.revision : min(revision, other.revision)
        workers += other.workers
    }
}
