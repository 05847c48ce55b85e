import MeshRouting
import NIOCore

/// One event loop's view of a cluster: its endpoints' pools, the load balancer's state and the
/// cluster's counters. Survives config swaps that keep the cluster's name, so pools stay warm.
final class ClusterRuntime {
    private(set) var cluster: Cluster
    /// The cluster's consistent-hash key when it balances that way, else nil: read for every
    /// request, where matching `cluster.loadBalancer` copied the policy out (with its retains).
    private(set) var consistentHashKey: HashKey?
    let counters: WorkerStats.ClusterCounters
    private(set) var limits: ClusterLimits?
    /// Parallel to `cluster.endpoints`; nil where the endpoint has no address (not started).
    private(set) var pools: [EndpointPool?] = []
    /// Indices of endpoints that have an address.
    private(set) var reachable: [Int] = []
    /// What the balancer picks from: the reachable endpoints outlier detection has not ejected, or
    /// all reachable ones while too few are healthy (Envoy's panic mode).
    private(set) var candidates: [Int] = []
    private(set) var inPanic = false
    /// The cluster's outlier detection, shared with the other workers; nil when its
    /// DestinationRule sets none.
    var outlier: OutlierDetector?
    /// The detector's host monitors, parallel to `cluster.endpoints`.
    var outlierMonitors: [OutlierHostMonitor?] = []
    /// The detector's epoch `candidates` reflect.
    private var outlierEpoch: UInt64 = 0
    /// This loop's share of the cluster's outlier counters: the decisions its requests triggered
    /// and its picks in panic; the admin server sums the loops.
    var outlierStats = StatsSnapshot.OutlierDetectionStats()
    /// The detector's interval sweep, on the first worker only.
    var outlierSweep: Scheduled<Void>?
    let workerIndex: Int
    let eventLog: (@Sendable (ProxyEvent) -> Void)?
    /// Parallel to `cluster.endpoints`: each endpoint's workload slot in the loop's stats, so
    /// that a request records where it went with one integer.
    private(set) var workloadSlots: [UInt32] = []
    private var poolsByAddress: [EndpointAddress: EndpointPool] = [:]
    private var roundRobinNext = 0
    private var ring: HashRing?
    let eventLoop: EventLoop
    private let registry: CircuitBreakerRegistry
    private let defaultConnectTimeout: TimeAmount
    private let stats: WorkerStats
    /// The worker's, handed to the HTTP/1.1 connections its pools open.
    private let readClock: LoopReadClock

    init(cluster: Cluster, stats: WorkerStats, eventLoop: EventLoop, registry: CircuitBreakerRegistry, defaultConnectTimeout: TimeAmount,
         outlier: OutlierBinding? = nil, workerIndex: Int = 0, eventLog: (@Sendable (ProxyEvent) -> Void)? = nil,
         readClock: LoopReadClock = LoopReadClock()) {
        self.cluster = cluster
        self.readClock = readClock
        self.workerIndex = workerIndex
        self.eventLog = eventLog
        self.stats = stats
        self.counters = stats.counters(forCluster: cluster.name)
        self.eventLoop = eventLoop
        self.registry = registry
        self.defaultConnectTimeout = defaultConnectTimeout
        update(to: cluster, outlier: outlier)
    }

    /// Adopts a new revision of the cluster, keeping pools of endpoints that stay. `outlier`: the
    /// cluster's shared outlier detection as the proxy published it with this revision.
    func update(to newCluster: Cluster, outlier binding: OutlierBinding?) {
        let limitsChanged = newCluster.connectionPool != cluster.connectionPool || pools.isEmpty
        cluster = newCluster
        if case .consistentHash(let key) = newCluster.loadBalancer { consistentHashKey = key } else { consistentHashKey = nil }
        counters.descriptor = StatsSnapshot.ClusterDescriptor(
            host: newCluster.host, subset: newCluster.subset, port: newCluster.port, serviceName: newCluster.serviceName,
            serviceNamespace: newCluster.serviceNamespace)
        workloadSlots = newCluster.endpoints.map { stats.workloadSlot(for: $0.workload) }
        if limitsChanged { limits = registry.limits(for: newCluster) }
        let connectTimeout = newCluster.connectionPool?.tcp?.connectTimeout.map { TimeAmount.nanoseconds($0.nanoseconds) } ?? defaultConnectTimeout
        let perConnection = Int(max(0, newCluster.connectionPool?.http?.maxRequestsPerConnection ?? 0))
        // h2c connections multiplex streams; the DestinationRule may cap them (when istiod
        // writes explicit HTTP/2 options: see UpstreamProtocol.appliesHTTP2Settings).
        let upstreamProtocol = newCluster.upstreamProtocol
        let http2MaxStreams = upstreamProtocol.appliesHTTP2Settings
            ? Int(max(0, newCluster.connectionPool?.http?.maxConcurrentStreams ?? 0)) : 0
        var kept: [EndpointAddress: EndpointPool] = [:]
        pools = newCluster.endpoints.map { endpoint in
            guard let address = endpoint.address else { return nil }
            if let existing = kept[address] { return existing }
            var pool = poolsByAddress[address]
            if let current = pool, current.limits !== limits || current.maxRequestsPerConnection != perConnection || current.connectTimeout != connectTimeout
                || current.upstreamProtocol != upstreamProtocol || current.http2MaxStreams != http2MaxStreams {
                current.retire()
                pool = nil
            }
            let chosen = pool ?? EndpointPool(
                address: address, eventLoop: eventLoop, limits: limits, counters: counters,
                connectTimeout: connectTimeout, maxRequestsPerConnection: perConnection, upstreamProtocol: upstreamProtocol,
                http2MaxStreams: http2MaxStreams, readClock: readClock)
            kept[address] = chosen
            return chosen
        }
        for (address, pool) in poolsByAddress where kept[address] !== pool { pool.retire() }
        poolsByAddress = kept
        reachable = pools.indices.filter { pools[$0] != nil }
        updateOutlierDetection(binding)
    }

    func retire() {
        for pool in poolsByAddress.values { pool.retire() }
        stopOutlierDetection()
    }

    /// Recomputes `candidates` after the endpoints or their ejections changed.
    func refreshCandidates() {
        var healthy = reachable
        if let outlier {
            // The epoch first: a change after it is seen again at the next pick.
            outlierEpoch = outlier.epoch
            healthy = reachable.filter { $0 >= outlierMonitors.count || outlierMonitors[$0]?.isEjected != true }
        }
        if let outlier, healthy.count < reachable.count {
            inPanic = OutlierPolicy.isInPanic(healthy: healthy.count, total: reachable.count, threshold: outlier.policy.healthyPanicThreshold)
            candidates = inPanic ? reachable : healthy
        } else {
            inPanic = false
            candidates = reachable
        }
        ring = nil
        if roundRobinNext >= candidates.count { roundRobinNext = 0 }
    }

    /// Picks an endpoint index per the cluster's load balancer; nil when none is reachable or
    /// outlier detection ejected them all. `avoiding` holds endpoints already tried by this
    /// request (Istio's previous-hosts retry predicate), honoured while another endpoint is left;
    /// nil for none (a first attempt: no array passed, not even a static empty one, whose lazy
    /// global cost a `swift_once` per request).
    func pickEndpoint(hashKey: UInt64?, random: inout FastRandom, avoiding tried: [Int]?) -> Int? {
        // Another worker may have ejected or returned a host since this loop last looked.
        if let outlier, outlier.epoch != outlierEpoch { refreshCandidates() }
        guard !candidates.isEmpty else { return nil }
        if inPanic { outlierStats.healthyPanic += 1 }
        if candidates.count == 1 { return candidates[0] }
        switch cluster.loadBalancer {
        case .consistentHash:
            // Consistent hashing keeps a key on its endpoint, retries included (Istio drops
            // the previous-hosts predicate for it).
            if ring == nil { ring = buildRing() }
            if let hashKey, let index = ring?.endpoint(for: hashKey) { return index }
            return candidates[random.below(candidates.count)]
        default:
            // Up to five tries to find an endpoint this request has not used yet (Istio's
            // HostSelectionRetryMaxAttempts), then take what the balancer gives.
            var choice = pickOnce(random: &random)
            guard let tried else { return choice }
            var attempts = 1
            while tried.contains(choice) && attempts < 5 && tried.count < candidates.count {
                choice = pickOnce(random: &random)
                attempts += 1
            }
            return choice
        }
    }

    private func pickOnce(random: inout FastRandom) -> Int {
        switch cluster.loadBalancer {
        case .roundRobin:
            let index = candidates[roundRobinNext % candidates.count]
            roundRobinNext = (roundRobinNext + 1) % candidates.count
            return index
        case .random, .passthrough:
            return weightedRandom(random: &random)
        case .leastRequest:
            // Envoy's default: power of two choices over active requests; the first pick wins ties.
            let first = candidates[random.below(candidates.count)]
            let second = candidates[random.below(candidates.count)]
            let a = pools[first]?.activeRequests ?? 0
            let b = pools[second]?.activeRequests ?? 0
            return b < a ? second : first
        case .consistentHash:
            return candidates[random.below(candidates.count)]
        }
    }

    private func weightedRandom(random: inout FastRandom) -> Int {
        let total = candidates.reduce(0) { $0 + Int(max(cluster.endpoints[$1].weight, 1)) }
        var draw = random.below(total)
        for index in candidates {
            let weight = Int(max(cluster.endpoints[index].weight, 1))
            if draw < weight { return index }
            draw -= weight
        }
        return candidates[candidates.count - 1]
    }

    private func buildRing() -> HashRing {
        let members = candidates.compactMap { index -> (index: Int, key: String, weight: UInt32)? in
            guard let address = cluster.endpoints[index].address else { return nil }
            return (index, "\(address.host):\(address.port)", cluster.endpoints[index].weight)
        }
        return HashRing(endpoints: members, minimumRingSize: minimumRingSize)
    }

    private var minimumRingSize: Int { 1024 }

    /// Gauges for stats export.
    func export(into stats: inout StatsSnapshot.ClusterStats) {
        for (address, pool) in poolsByAddress {
            stats.activeConnections += pool.openConnections
            stats.idleConnections += pool.idleCount
            var endpoint = StatsSnapshot.EndpointStats()
            endpoint.activeRequests = pool.activeRequests
            endpoint.activeConnections = pool.openConnections
            endpoint.connectFailures = pool.connectFailures
            endpoint.outlierEjectedWorkers = outlier?.isEjected(address: address) == true ? 1 : 0
            stats.endpoints["\(address.host):\(address.port)"] = endpoint
        }
        if outlier != nil { stats.outlierDetection = outlierStats }
    }
}
