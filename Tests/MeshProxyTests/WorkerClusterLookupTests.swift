import MeshConfig
import MeshRouting
import NIOCore
import NIOPosix
import Testing

@testable import MeshProxy

/// `Worker.clusterRuntime(for:)` remembers its last answer (one reference compared instead of a
/// dictionary lookup per request); a new snapshot must forget it, or a request that began on the
/// old snapshot would be served by a cluster state the swap retired.
@Suite struct WorkerClusterLookupTests {
    @Test func aNewSnapshotForgetsTheRememberedClusterState() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        // Compared on the loop (cluster states are the loop's own): whether each lookup gave the first state.
        let outcome = try await loop.submit { () throws -> (again: Bool, afterSwap: Bool, sameName: Bool?) in
            let old = try OutlierDetectorRegistryTests.snapshot(versions: ["v1"], outlier: nil, revision: 1)
            let worker = Worker(
                index: 0, eventLoop: loop, configuration: ProxyConfiguration(),
                shared: try SharedProxyState(configuration: ProxyConfiguration()), snapshot: old)
            let cluster = try #require(old.clusters.first)
            let first = worker.clusterRuntime(for: cluster)
            let again = worker.clusterRuntime(for: cluster)
            // The cluster's name leaves the config: its state is retired.
            worker.install(try RoutingSnapshot(resources: MeshResources()), outliers: [:])
            let afterSwap = worker.clusterRuntime(for: cluster)
            // And a later snapshot's cluster of that name gets that snapshot's state, not the old one.
            let newer = try OutlierDetectorRegistryTests.snapshot(versions: ["v1"], outlier: nil, revision: 2)
            worker.install(newer, outliers: [:])
            let sameName = newer.clusters.first { $0.name == cluster.name }.map { worker.clusterRuntime(for: $0) }
            return (again === first, afterSwap === first, sameName.map { $0 === first })
        }.get()
        try await group.shutdownGracefully()
        #expect(outcome.again)
        #expect(!outcome.afterSwap)
        let sameName = try #require(outcome.sameName as Bool?)
        #expect(!sameName)
    }
}
