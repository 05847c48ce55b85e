import Foundation
import MeshProxy
import Testing

/// Reloads while a client keeps sending: no request fails, each is answered by the config
/// current when it started, and both configs are seen.
@Suite struct HotReloadUnderLoadTests {
    static let workloads = TestMesh.service("reload", versions: ["v1": ["meshsim.dev/latency": "1ms"], "v2": ["meshsim.dev/latency": "1ms"]])

    /// Everything to v1 (no connection pool settings), or everything to v2 with a connection
    /// pool limit, whose change replaces every endpoint pool on each reload.
    static func config(allTo subset: String) -> String {
        let trafficPolicy = subset == "v2" ? "\n  trafficPolicy: {connectionPool: {tcp: {maxConnections: 1000}}}" : ""
        return workloads + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reload, namespace: default}
            spec:
              host: reload\(trafficPolicy)
              subsets:
              - {name: v1, labels: {version: v1}}
              - {name: v2, labels: {version: v2}}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reload, namespace: default}
            spec:
              hosts: [reload]
              http:
              - name: to-\(subset)
                route: [{destination: {host: reload, subset: \(subset)}}]
            """
    }

    @Test func noRequestFailsAcrossFiftyReloads() async throws {
        try await AdminHarness.with(yaml: Self.config(allTo: "v1"), configuration: TestMesh.configuration(workers: 2)) { harness in
            let client = ContinuousClient(port: harness.mesh.port, host: "reload", keepAliveRequests: 10)
            defer { client.stop() }
            var applied = 0
            for reload in 1...50 {
                // Let the client through a few requests on the running config first.
                let before = client.requestsCompleted
                #expect(await TestMesh.waitUntil { client.requestsCompleted >= before + 5 || client.isFinished })
                let subset = reload % 2 == 1 ? "v2" : "v1"
                let outcome = await harness.controller.apply([ConfigSource(name: "reload-\(subset).yaml", content: Self.config(allTo: subset))])
                if case .applied = outcome { applied += 1 }
                #expect(outcome.errors.isEmpty)
            }
            let before = client.requestsCompleted
            #expect(await TestMesh.waitUntil { client.requestsCompleted >= before + 5 || client.isFinished })
            client.stop()
            #expect(await TestMesh.waitUntil { client.isFinished })

            #expect(applied == 50)
            #expect(harness.mesh.snapshot.revision == 50)
            #expect(client.failures.isEmpty, "failures: \(client.failures.prefix(5))")
            let counts = client.counts
            let total = counts.values.reduce(0, +)
            #expect(total == client.requestsCompleted)
            #expect(total >= 255)
            #expect(client.connectionsOpened >= total / 10)
            // Every answer is a 200 from v1 or v2, and both configs answered.
            #expect(counts.keys.allSatisfy { $0.status == 200 && ($0.version == "v1" || $0.version == "v2") }, "\(counts)")
            #expect(counts[.init(status: 200, version: "v1")] ?? 0 > 0)
            #expect(counts[.init(status: 200, version: "v2")] ?? 0 > 0)
            // The proxy counted no failure either.
            let stats = await harness.mesh.proxy.collectStats()
            #expect(stats.requests.keys.allSatisfy { $0.responseCode == 200 }, "\(stats.requests.map { "\($0.key): \($0.value.count)" })")
        }
    }
}
