import MeshConfig
import NIOHTTP1

/// One event loop's counters. Only that loop touches them, so recording is a few plain adds
/// with no lock or atomic; `MeshProxy.collectStats()` copies each loop's on its own thread.
final class WorkerStats {
    /// Counters of one cluster (or of requests that reached none), keyed by the endpoint's
    /// workload, the code, the protocol and the flags packed in one integer (plus the gRPC
    /// status of gRPC requests).
    final class RequestCounters {
        private struct Key: Hashable {
            /// workload slot (bits 40–63), code (24–39), protocol (20–23), flags (0–19).
            var packed: UInt64
            var grpcStatus: String?
        }

        /// One outcome's counters, updated in place.
        final class Cell {
            var stats = StatsSnapshot.RequestStats()
        }

        private var entries: [Key: Cell] = [:]
        /// Most requests of a cluster end alike: the last outcome's cell skips the lookup.
        private var lastKey = Key(packed: UInt64.max, grpcStatus: nil)
        private var lastCell: Cell?

        /// `workload` is a slot of `WorkerStats.workloadSlot(for:)`, 0 when no endpoint was reached.
        func record(code: Int, flags: ResponseFlags, workload: UInt32, milliseconds: Double, requestProtocol: RequestProtocol = .http,
                    grpcStatus: String? = nil) {
            let packed = UInt64(workload) << 40 | UInt64(UInt16(truncatingIfNeeded: code)) << 24
                | UInt64(requestProtocol.bits) << 20 | UInt64(flags.rawValue & 0xF_FFFF)
            let key = Key(packed: packed, grpcStatus: grpcStatus)
            let cell: Cell
            if key == lastKey, let last = lastCell {
                cell = last
            } else if let existing = entries[key] {
                cell = existing
            } else {
                cell = Cell()
                entries[key] = cell
            }
            lastKey = key
            lastCell = cell
            cell.stats.count += 1
            cell.stats.durationBuckets[Self.bucketIndex(milliseconds)] += 1
            cell.stats.durationSumMilliseconds += milliseconds
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

        func export(cluster: String?, workloads: [StatsSnapshot.DestinationWorkload], into snapshot: inout StatsSnapshot) {
            for (key, cell) in entries {
                let slot = Int(key.packed >> 40)
                let requestKey = StatsSnapshot.RequestKey(
                    cluster: cluster, responseCode: Int((key.packed >> 24) & 0xFFFF),
                    responseFlags: ResponseFlags(rawValue: UInt32(truncatingIfNeeded: key.packed & 0xF_FFFF)),
                    requestProtocol: RequestProtocol(bits: UInt8(truncatingIfNeeded: (key.packed >> 20) & 0xF)).rawValue,
                    grpcResponseStatus: key.grpcStatus,
                    destination: slot > 0 && slot <= workloads.count ? workloads[slot - 1] : nil)
                snapshot.requests[requestKey, default: StatsSnapshot.RequestStats()].add(cell.stats)
            }
        }
    }

    /// Per-cluster counters; gauges of pools live in the pools and are read at export.
    final class ClusterCounters {
        let requests = RequestCounters()
        /// What the cluster serves, kept after the cluster leaves the config so that its
        /// counters still carry their labels.
        var descriptor: StatsSnapshot.ClusterDescriptor?
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
    /// Workloads requests reached, by slot - 1; a slot is a small integer the request path can
    /// carry and key on instead of the workload's strings.
    private(set) var workloads: [StatsSnapshot.DestinationWorkload] = []
    private var workloadSlots: [StatsSnapshot.DestinationWorkload: UInt32] = [:]

    func counters(forCluster name: String) -> ClusterCounters {
        if let existing = clusters[name] { return existing }
        let created = ClusterCounters()
        clusters[name] = created
        return created
    }

    /// The slot of a workload (from 1), assigned on first sight; called when a snapshot is installed.
    func workloadSlot(for workload: Workload) -> UInt32 {
        let destination = StatsSnapshot.DestinationWorkload(workload)
        if let slot = workloadSlots[destination] { return slot }
        workloads.append(destination)
        let slot = UInt32(workloads.count)
        workloadSlots[destination] = slot
        return slot
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

    /// Its place in the packed stats key.
    var bits: UInt8 {
        switch self {
        case .http: return 0
        case .http2: return 1
        case .grpc: return 2
        }
    }

    init(bits: UInt8) {
        switch bits {
        case 1: self = .http2
        case 2: self = .grpc
        default: self = .http
        }
    }
}
