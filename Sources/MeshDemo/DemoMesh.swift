import Foundation
import MeshBackends
import MeshConfig
import MeshProxy
import MeshRouting

/// The running mesh seen through the demo's service: which clusters and pods are the stable and
/// canary subsets, their behaviour, and the routes of each step applied from files.
struct DemoMesh: Sendable {
    let mesh: LocalMesh
    let settings: DemoSettings
    /// Workload files (the bundled ones, or `-f`), loaded with every step's routes.
    let workloadPaths: [String]
    /// VirtualService file by canary weight.
    let routePaths: [Int: String]
    /// Cluster name → subset, for the demo service's clusters.
    let subsetOfCluster: [String: String]
    /// Pod key (`namespace/pod`) → subset.
    let subsetOfPod: [String: String]

    static func start(settings: DemoSettings, workloadPaths: [String], routePaths: [Int: String]) async throws -> DemoMesh {
        guard let firstRoutes = routePaths[settings.steps[0]] else { throw DemoInputError("no routes for the first step") }
        var proxy = ProxyConfiguration(host: "127.0.0.1", port: settings.port, workers: settings.proxyWorkers)
        proxy.split = settings.split == .exact ? .exact : .random(seed: settings.seed)
        proxy.debugHeaders = true
        let mesh = try await LocalMesh.start(
            files: workloadPaths + [firstRoutes], namespace: settings.namespace, proxy: proxy, seed: settings.seed)
        let fqdn = HostName.fullyQualified(settings.host, namespace: settings.namespace)
        var subsetOfCluster: [String: String] = [:]
        var subsetOfPod: [String: String] = [:]
        for cluster in mesh.snapshot.clusters where cluster.host == fqdn {
            guard let subset = cluster.subset, subset == settings.stableSubset || subset == settings.canarySubset else { continue }
            subsetOfCluster[cluster.name] = subset
            for endpoint in cluster.endpoints { subsetOfPod[BackendIdentity(endpoint.workload).key] = subset }
        }
        let demoMesh = DemoMesh(
            mesh: mesh, settings: settings, workloadPaths: workloadPaths, routePaths: routePaths,
            subsetOfCluster: subsetOfCluster, subsetOfPod: subsetOfPod)
        for subset in [settings.stableSubset, settings.canarySubset] where demoMesh.pods(of: subset).isEmpty {
            try? await mesh.stop()
            throw DemoInputError(
                "subset \(subset) of \(fqdn) has no pods: the configuration needs a DestinationRule for \(settings.host) with subsets "
                    + "\(settings.stableSubset) and \(settings.canarySubset), and a Deployment whose labels each selects")
        }
        return demoMesh
    }

    var port: Int { mesh.port }
    var revision: Int { mesh.snapshot.revision }

    func pods(of subset: String) -> [String] {
        subsetOfPod.filter { $0.value == subset }.map(\.key).sorted()
    }

    /// Applies the routes giving the canary `canaryWeight` percent; returns once every proxy event
    /// loop serves them.
    func applyRoutes(canaryWeight: Int) async throws {
        guard let path = routePaths[canaryWeight] else { throw DemoInputError("no routes written for weight \(canaryWeight)") }
        try await mesh.apply(files: workloadPaths + [path])
    }

    /// Attempts refused over max-concurrency so far, per subset.
    func podRejections() -> [String: Int] {
        var bySubset: [String: Int] = [:]
        for (key, stats) in mesh.fleet.stats {
            guard let subset = subsetOfPod[key] else { continue }
            bySubset[subset, default: 0] += stats.rejectedOverConcurrency
        }
        return bySubset
    }

    /// Requests the proxy has in flight to `subset`'s clusters.
    func inFlight(to subset: String) async -> Int {
        let stats = await mesh.proxy.collectStats()
        return stats.clusters.filter { subsetOfCluster[$0.key] == subset }.values.reduce(0) { $0 + $1.activeRequests }
    }

    /// What the proxy answered since `before` was collected.
    func traffic(since before: StatsSnapshot) async -> ProxyTraffic {
        let after = await mesh.proxy.collectStats()
        let mapping = subsetOfCluster
        return ProxyTraffic(before: before, after: after, subsetOfCluster: { mapping[$0] })
    }

    /// Behaviour of a subset's pods: the sum of their concurrency limits (nil when one has none)
    /// and their mean latency in milliseconds (nil without pods or latency).
    func capacity(of subset: String) -> (limit: Int?, meanLatencyMilliseconds: Double?) {
        let backends = mesh.fleet.backends
        let profiles = pods(of: subset).compactMap { backends[$0]?.profile }
        guard !profiles.isEmpty else { return (nil, nil) }
        let limits = profiles.map(\.maxConcurrency)
        let limit: Int? = limits.contains(where: { $0 == nil }) ? nil : limits.compactMap { $0 }.reduce(0, +)
        let means = profiles.map { LittlesLaw.meanSeconds($0.latency) * 1000 }
        return (limit, means.reduce(0, +) / Double(means.count))
    }

    /// One line per subset: its workloads, pod count and behaviour.
    func describeWorkloads() -> [String] {
        let backends = mesh.fleet.backends
        var lines: [String] = []
        for subset in [settings.stableSubset, settings.canarySubset] {
            var byWorkload: [String: (count: Int, profile: BehaviorProfile)] = [:]
            for key in pods(of: subset) {
                guard let backend = backends[key] else { continue }
                let current = byWorkload[backend.identity.workload]
                byWorkload[backend.identity.workload] = ((current?.count ?? 0) + 1, backend.profile)
            }
            for workload in byWorkload.keys.sorted() {
                guard let entry = byWorkload[workload] else { continue }
                lines.append("\(subset): \(workload) ×\(entry.count) (\(entry.profile))")
            }
        }
        return lines
    }
}
