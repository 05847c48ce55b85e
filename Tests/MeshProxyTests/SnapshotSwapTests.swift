import MeshProxy
import MeshRouting
import Testing

/// `apply` publishes a new snapshot to every loop; a request keeps the one it started with.
@Suite struct SnapshotSwapTests {
    static let workloads = TestMesh.service("swap", versions: ["v1": ["meshsim.dev/latency": "10s"], "v2": [:]])
    static func route(to subset: String, extra: String = "") -> String {
        workloads + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: swap, namespace: default}
            spec:
              host: swap
              subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: swap, namespace: default}
            spec:
              hosts: [swap]
              http:
              - name: to-\(subset)
                route: [{destination: {host: swap, subset: \(subset)}}]\(extra)
            """
    }

    @Test func requestInFlightKeepsItsSnapshotWhileNewOnesUseTheApplied() async throws {
        try await TestMesh.with(yaml: Self.route(to: "v1"), configuration: TestMesh.configuration(workers: 2)) { mesh in
            let slow = try RawConnection(port: mesh.port)
            try await slow.send("GET / HTTP/1.1\r\nHost: swap\r\n\r\n")
            #expect(await TestMesh.waitUntil { (mesh.fleet.stats["default/swap-v1-0"]?.inFlight ?? 0) == 1 })
            try await mesh.apply(resources: TestMesh.resources(Self.route(to: "v2")))
            #expect(mesh.snapshot.revision == 1)
            // New requests, on either loop, go to v2 ...
            for _ in 0..<4 {
                let response = try await mesh.send(host: "swap")
                #expect(response.headers.first(name: "x-meshsim-route") == "default/swap/to-v2")
            }
            // ... while the one in flight finishes on v1 with the route it started with.
            let response = try await slow.readResponse()
            #expect(response.header("x-meshsim-version") == "v1")
            #expect(response.header("x-meshsim-route") == "default/swap/to-v1")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.revision == 1)
        }
    }

    @Test func invalidConfigIsRejectedWholeAndTheRunningOneStays() async throws {
        try await TestMesh.with(yaml: Self.route(to: "v2")) { mesh in
            let broken = Self.route(to: "v1", extra: "\n    match: [{uri: {regex: \"([\"}}]")
            await #expect(throws: LocalMesh.ConfigError.self) {
                try await mesh.apply(resources: TestMesh.resources(broken))
            }
            #expect(mesh.snapshot.revision == 0)
            let response = try await mesh.send(host: "swap")
            #expect(response.headers.first(name: "x-meshsim-route") == "default/swap/to-v2")
        }
    }

    @Test func proxyServesASnapshotDirectly() async throws {
        // The lower rung: MeshProxy with a snapshot whose endpoints already listen.
        try await TestMesh.with(yaml: Self.route(to: "v2")) { mesh in
            let proxy = try await MeshProxy.start(snapshot: mesh.snapshot, configuration: TestMesh.configuration())
            let connection = try RawConnection(port: proxy.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: swap\r\n\r\n")
            #expect(try await connection.readResponse().header("x-meshsim-version") == "v2")
            try await proxy.shutdown()
            try await proxy.shutdown()
        }
    }
}
