import MeshConfig
import NIOHTTP1

/// One event loop's counters. Only that loop touches them, so recording is a few plain adds
/// with no lock or atomic; `MeshProxy.collectStats()` copies each loop's on its own thread.
final class WorkerStats {
    /// Counters of one cluster (or of requests that reached none), keyed by the endpoint's
    /// workload, the code and the flags packed in one integer.
    final class RequestCounters {
        /// One outcome's counters, updated in place: plain integers in one allocation of the
        /// cell's own (as arrays of `RequestStats`, each of the three bucket updates per request
        /// tested the array's uniqueness first), made into `RequestStats` when exported.
        final class Cell {
            /// The count, then the duration, request-bytes and response-bytes buckets (`buckets`
            /// each), then the byte sums and the gRPC message counts.
            private let slots: UnsafeMutablePointer<UInt64>
            /// Buckets per histogram: read from the cell (a static here was a lazy global, tested
            /// on each use).
            private let buckets: Int
            private var durationSumMilliseconds: Double = 0
            /// `StatsSnapshot.histogramBucketBounds`, copied into the cell: read with no lazy
            /// global's test or array's bounds checks.
            private let bounds: UnsafeMutablePointer<Double>
            /// Each histogram's latest bucket: a cell's requests mostly fall where the one before
            /// fell (the same sizes, durations of one range), which two comparisons confirm.
            private var lastDurationBucket = 0
            private var lastRequestBytesBucket = 0
            private var lastResponseBytesBucket = 0

            init() {
                buckets = StatsSnapshot.emptyBuckets.count
                slots = .allocate(capacity: 1 + 3 * buckets + 4)
                slots.initialize(repeating: 0, count: 1 + 3 * buckets + 4)
                bounds = .allocate(capacity: buckets - 1)
                StatsSnapshot.histogramBucketBounds.withUnsafeBufferPointer { bounds.initialize(from: $0.baseAddress!, count: buckets - 1) }
            }

            deinit {
                slots.deallocate()
                bounds.deallocate()
            }

            /// `RequestCounters.bucketIndex(value)`: `last` when `value` lies in that bucket (above
            /// the bound below it, at or under its own), else the search's answer, kept in `last`
            /// (NaN never matches and is searched).
            @inline(__always)
            func bucketIndex(_ value: Double, near last: inout Int) -> Int {
                let index = last
                if (index == 0 || bounds[index - 1] < value) && (index == buckets - 1 || value <= bounds[index]) { return index }
                last = RequestCounters.bucketIndex(value)
                return last
            }

            private var durationBuckets: UnsafeMutablePointer<UInt64> { slots + 1 }
            private var requestBytesBuckets: UnsafeMutablePointer<UInt64> { slots + 1 + buckets }
            private var responseBytesBuckets: UnsafeMutablePointer<UInt64> { slots + 1 + 2 * buckets }
            /// Request bytes, response bytes, request messages, response messages.
            private var sums: UnsafeMutablePointer<UInt64> { slots + 1 + 3 * buckets }

            var stats: StatsSnapshot.RequestStats {
                var stats = StatsSnapshot.RequestStats()
                stats.count = slots[0]
                stats.durationBuckets = Array(UnsafeBufferPointer(start: durationBuckets, count: buckets))
                stats.durationSumMilliseconds = durationSumMilliseconds
                stats.requestBytesBuckets = Array(UnsafeBufferPointer(start: requestBytesBuckets, count: buckets))
                stats.requestBytesSum = sums[0]
                stats.responseBytesBuckets = Array(UnsafeBufferPointer(start: responseBytesBuckets, count: buckets))
                stats.responseBytesSum = sums[1]
                stats.requestMessages = sums[2]
                stats.responseMessages = sums[3]
                return stats
            }

            func add(milliseconds: Double, requestBytes: Int, responseBytes: Int, grpcMessages: (request: Int, response: Int)?) {
                slots[0] += 1
                durationBuckets[bucketIndex(milliseconds, near: &lastDurationBucket)] += 1
                durationSumMilliseconds += milliseconds
                requestBytesBuckets[bucketIndex(Double(requestBytes), near: &lastRequestBytesBucket)] += 1
                sums[0] += UInt64(max(0, requestBytes))
                responseBytesBuckets[bucketIndex(Double(responseBytes), near: &lastResponseBytesBucket)] += 1
                sums[1] += UInt64(max(0, responseBytes))
                if let grpcMessages {
                    sums[2] += UInt64(grpcMessages.request)
                    sums[3] += UInt64(grpcMessages.response)
                }
            }
        }

        /// Never removed from: a cell lives as long as the counters.
        private var entries: [UInt64: Cell] = [:]
        /// Most requests of a cluster end alike: the last outcome's cell skips the lookup.
        private var lastKey = UInt64.max
        /// Unmanaged: `entries` holds every cell for the counters' whole life, and a strong
        /// reference (stored, then bound for the update) cost two retains and two releases per request.
        private var lastCell: Unmanaged<Cell>?

        /// The key packs, from the top: the workload slot (20 bits), the gRPC status (6 bits,
        /// `noGRPCStatus` when none), the protocol (2 bits), the code (12 bits), the flags (24 bits).
        static let noGRPCStatus: UInt64 = 63

        /// `workload` is a slot of `WorkerStats.workloadSlot(for:)`, 0 when no endpoint was reached.
        func record(code: Int, flags: ResponseFlags, workload: UInt32, milliseconds: Double,
                    requestProtocol: RequestProtocol = .http, grpcStatus: String? = nil,
                    requestBytes: Int = 0, responseBytes: Int = 0, grpcMessages: (request: Int, response: Int)? = nil) {
            record(
                code: code, flags: flags, workload: workload, milliseconds: milliseconds, requestProtocol: requestProtocol,
                grpcKey: Self.grpcKey(grpcStatus), requestBytes: requestBytes, responseBytes: responseBytes, grpcMessages: grpcMessages)
        }

        /// The key's gRPC status part for `grpcStatus` (`noGRPCStatus` for none).
        static func grpcKey(_ grpcStatus: String?) -> UInt64 {
            grpcStatus.flatMap { UInt64($0) }.map { min($0, Self.noGRPCStatus - 1) } ?? Self.noGRPCStatus
        }

        /// The same with the gRPC status as `grpcKey(_:)` makes it (the exchange makes it before
        /// lending the counters: a copy of its status string to pass in cost a release per request).
        func record(code: Int, flags: ResponseFlags, workload: UInt32, milliseconds: Double,
                    requestProtocol: RequestProtocol, grpcKey grpc: UInt64,
                    requestBytes: Int, responseBytes: Int, grpcMessages: (request: Int, response: Int)?) {
            let key = UInt64(workload & 0xF_FFFF) << 44 | grpc << 38 | UInt64(requestProtocol.index) << 36
                | UInt64(UInt16(truncatingIfNeeded: code) & 0xFFF) << 24 | UInt64(flags.rawValue & 0xFF_FFFF)
            if key != lastKey || lastCell == nil {
                let cell: Cell
                if let existing = entries[key] {
                    cell = existing
                } else {
                    cell = Cell()
                    entries[key] = cell
                }
                lastKey = key
                lastCell = Unmanaged.passUnretained(cell)
            }
            lastCell?._withUnsafeGuaranteedRef {
                $0.add(milliseconds: milliseconds, requestBytes: requestBytes, responseBytes: responseBytes, grpcMessages: grpcMessages)
            }
        }

        /// The bucket of `value`: the first bound it is at or under, past them all if none. The
        /// cells try their latest bucket first (`Cell.bucketIndex(_:near:)`) and search here when
        /// the value has moved.
        static func bucketIndex(_ value: Double) -> Int {
            let bounds = StatsSnapshot.histogramBucketBounds
            var low = 0, high = bounds.count
            while low < high {
                let mid = (low + high) / 2
                if value <= bounds[mid] { high = mid } else { low = mid + 1 }
            }
            return low
        }

        func export(cluster: String?, workloads: [StatsSnapshot.DestinationWorkload], into snapshot: inout StatsSnapshot) {
            export(cluster: cluster, workloads: workloads, into: &snapshot.requests)
        }

        func export(
            cluster: String?, workloads: [StatsSnapshot.DestinationWorkload],
            into requests: inout [StatsSnapshot.RequestKey: StatsSnapshot.RequestStats]
        ) {
            for (key, cell) in entries {
                let value = cell.stats
                let slot = Int(key >> 44)
                let requestKey = StatsSnapshot.RequestKey(
                    cluster: cluster, responseCode: Int((key >> 24) & 0xFFF),
                    responseFlags: ResponseFlags(rawValue: UInt32(truncatingIfNeeded: key & 0xFF_FFFF)),
                    destination: slot > 0 && slot <= workloads.count ? workloads[slot - 1] : nil,
                    requestProtocol: RequestProtocol(index: Int((key >> 36) & 0x3)).rawValue,
                    grpcResponseStatus: (key >> 38) & 0x3F == Self.noGRPCStatus ? nil : String((key >> 38) & 0x3F))
                requests[requestKey, default: StatsSnapshot.RequestStats()].add(value)
            }
        }
    }

    /// Per-cluster counters; gauges of pools live in the pools and are read at export.
    final class ClusterCounters {
        let requests = RequestCounters()
        /// Shadows of requests sent to this cluster by a route's `mirror` (`RequestMirror`).
        let mirroredRequests = RequestCounters()
        /// What the cluster serves, kept after the cluster leaves the config so that its
        /// counters still carry their labels.
        var descriptor: StatsSnapshot.ClusterDescriptor?
        var activeRequests = 0
        var pendingRequests = 0
        var connectionsOpened: UInt64 = 0
        var connectFailures: UInt64 = 0
        var overflows: UInt64 = 0
        var retries: UInt64 = 0
        /// Shadows of this cluster's requests given up because the body outgrew the buffer
        /// limit (Envoy's `retry_or_shadow_abandoned`, shadow part).
        var shadowsAbandoned: UInt64 = 0
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
enum RequestProtocol: String, CaseIterable {
    case http = "http"
    case http2 = "http/2"
    case grpc = "grpc"

    /// Whether the client sent the request over HTTP/2 (gRPC included).
    var arrivedOverHTTP2: Bool { self != .http }

    /// A small integer for packed stats keys.
    var index: Int {
        switch self {
        case .http: return 0
        case .http2: return 1
        case .grpc: return 2
        }
    }

    init(index: Int) {
        switch index {
        case 1: self = .http2
        case 2: self = .grpc
        default: self = .http
        }
    }

    /// Borrowing: an initializer owns its arguments, and the exchange's head was retained for
    /// the call and released in it.
    init(head: borrowing DownstreamRequestHead) {
        guard head.version.major == 2 else {
            self = .http
            return
        }
        self = head.hasGRPCContentType ? .grpc : .http2
    }
}
