import NIOHTTP1

/// One event loop's counters. Only that loop touches them, so recording is a few plain adds
/// with no lock or atomic; `MeshProxy.collectStats()` copies each loop's on its own thread.
final class WorkerStats {
    /// Counters of one cluster (or of requests that reached none), keyed by code and flags.
    final class RequestCounters {
        private struct Key: Hashable {
            var code: Int
            var flags: UInt32
            var requestProtocol: RequestProtocol
            var grpcStatus: String?
        }
        private var entries: [Key: StatsSnapshot.RequestStats] = [:]

        func record(code: Int, flags: ResponseFlags, milliseconds: Double, requestProtocol: RequestProtocol = .http,
                    grpcStatus: String? = nil) {
            let key = Key(code: code, flags: flags.rawValue, requestProtocol: requestProtocol, grpcStatus: grpcStatus)
            let bucket = Self.bucketIndex(milliseconds)
            entries[key, default: StatsSnapshot.RequestStats()].count += 1
            entries[key]?.durationBuckets[bucket] += 1
            entries[key]?.durationSumMilliseconds += milliseconds
        }

        static func bucketIndex(_ milliseconds: Double) -> Int {
            let bounds = StatsSnapshot.durationBucketBounds
            var low = 0, high = bounds.count
            while low < high {
                let mid = (low + high) / 2
                if milliseconds <= bounds[mid] { high = mid } else { low = mid + 1 }
            }
            return low
        }

        func export(cluster: String?, into snapshot: inout StatsSnapshot) {
            for (key, value) in entries {
                let requestKey = StatsSnapshot.RequestKey(
                    cluster: cluster, responseCode: key.code, responseFlags: ResponseFlags(rawValue: key.flags),
                    requestProtocol: key.requestProtocol.rawValue, grpcResponseStatus: key.grpcStatus)
                snapshot.requests[requestKey, default: StatsSnapshot.RequestStats()].add(value)
            }
        }
    }

    /// Per-cluster counters; gauges of pools live in the pools and are read at export.
    final class ClusterCounters {
        let requests = RequestCounters()
        var activeRequests = 0
        var pendingRequests = 0
        var connectionsOpened: UInt64 = 0
        var connectFailures: UInt64 = 0
        var overflows: UInt64 = 0
        var retries: UInt64 = 0
    }

    private(set) var clusters: [String: ClusterCounters] = [:]
    let unrouted = RequestCounters()
    var downstream = StatsSnapshot.DownstreamStats()

    func counters(forCluster name: String) -> ClusterCounters {
        if let existing = clusters[name] { return existing }
        let created = ClusterCounters()
        clusters[name] = created
        return created
    }

    func noteBufferedRequestBytes(_ bytes: Int) {
        if bytes > downstream.maxBufferedRequestBytes { downstream.maxBufferedRequestBytes = bytes }
    }

    func noteQueuedResponseBytes(_ bytes: Int) {
        if bytes > downstream.maxQueuedResponseBytes { downstream.maxQueuedResponseBytes = bytes }
    }
}

/// The request protocol label of the stats key (Istio's `request_protocol`).
enum RequestProtocol: String {
    case http = "http"
    case http2 = "http/2"
    case grpc = "grpc"

    init(head: HTTPRequestHead) {
        guard head.version.major == 2 else {
            self = .http
            return
        }
        let isGRPC = head.headers.first(name: "content-type").map { $0.lowercased().hasPrefix("application/grpc") } ?? false
        self = isGRPC ? .grpc : .http2
    }
}
