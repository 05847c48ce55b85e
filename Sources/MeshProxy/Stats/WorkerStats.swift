/// One event loop's counters. Only that loop touches them, so recording is a few plain adds
/// with no lock or atomic; `MeshProxy.collectStats()` copies each loop's on its own thread.
final class WorkerStats {
    /// Counters of one cluster (or of requests that reached none), keyed by code and flags.
    final class RequestCounters {
        private var entries: [UInt64: StatsSnapshot.RequestStats] = [:]

        func record(code: Int, flags: ResponseFlags, milliseconds: Double) {
            let key = UInt64(UInt32(truncatingIfNeeded: code)) << 32 | UInt64(flags.rawValue)
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
                    cluster: cluster, responseCode: Int(key >> 32), responseFlags: ResponseFlags(rawValue: UInt32(truncatingIfNeeded: key)))
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
