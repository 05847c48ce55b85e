import MeshConfig
import MeshRouting
import Testing

@testable import MeshProxy

/// What a config revision does to a cluster's shared outlier detector: the proxy publishes each
/// snapshot once, and every worker adopts what it got.
@Suite struct OutlierDetectorRegistryTests {
    static let cluster = OutlierDetectionTests.cluster

    /// `ratings` with one pod per version at fixed addresses, and `outlier` as its settings.
    static func snapshot(versions: [String], outlier: String?, revision: Int) throws -> RoutingSnapshot {
        let pods = Dictionary(uniqueKeysWithValues: versions.map { ($0, [String: String]()) })
        var yaml = OutlierDetectionTests.ratings(versions: pods, outlier: outlier ?? "{}")
        if outlier == nil { yaml = yaml.replacingOccurrences(of: "outlierDetection: {}", with: "") }
        let addresses = Dictionary(uniqueKeysWithValues: versions.enumerated().map { index, version in
            ("default/ratings-\(version)-0", EndpointAddress(host: "127.0.0.1", port: 21000 + index))
        })
        return try RoutingSnapshot(resources: try TestMesh.resources(yaml), revision: revision, addresses: addresses)
    }

    /// Ejects the endpoint at `index` of the binding (threshold 1).
    static func eject(_ binding: OutlierBinding, endpoint index: Int) -> Bool {
        guard let monitor = binding.monitors[index] else { return false }
        var stats = StatsSnapshot.OutlierDetectionStats()
        return !binding.detector.record(.response(status: 503, grpcStatus: nil), host: monitor, now: .now(), stats: &stats).isEmpty
    }

    @Test func aRevisionThatKeepsTheSettingsKeepsTheDetectorAndItsEjections() throws {
        let registry = OutlierDetectorRegistry()
        let settings = "{consecutive5xxErrors: 1, maxEjectionPercent: 100}"
        let first = try #require(registry.publish(try Self.snapshot(versions: ["v1", "v2"], outlier: settings, revision: 1))[Self.cluster])
        #expect(first.monitors.count == 2)
        #expect(Self.eject(first, endpoint: 0))
        // v3 joins: v1 stays ejected, under the same detector.
        let second = try #require(registry.publish(try Self.snapshot(versions: ["v1", "v2", "v3"], outlier: settings, revision: 2))[Self.cluster])
        #expect(second.detector === first.detector)
        #expect(second.monitors[0] === first.monitors[0] && second.monitors[0]?.isEjected == true)
        #expect(second.detector.hostCount == 3 && second.detector.ejectedCount == 1)
    }

    @Test func newSettingsGetANewDetectorAndNoSettingsNone() throws {
        let registry = OutlierDetectorRegistry()
        let first = try #require(registry.publish(
            try Self.snapshot(versions: ["v1"], outlier: "{consecutive5xxErrors: 1, maxEjectionPercent: 100}", revision: 1))[Self.cluster])
        #expect(Self.eject(first, endpoint: 0))
        let changed = try #require(registry.publish(
            try Self.snapshot(versions: ["v1"], outlier: "{consecutive5xxErrors: 2, maxEjectionPercent: 100}", revision: 2))[Self.cluster])
        #expect(changed.detector !== first.detector && changed.monitors[0]?.isEjected == false)
        #expect(registry.publish(try Self.snapshot(versions: ["v1"], outlier: nil, revision: 3))[Self.cluster] == nil)
        // Settings that come back after a revision without them start afresh.
        let back = try #require(registry.publish(
            try Self.snapshot(versions: ["v1"], outlier: "{consecutive5xxErrors: 2, maxEjectionPercent: 100}", revision: 4))[Self.cluster])
        #expect(back.detector !== changed.detector)
    }
}
