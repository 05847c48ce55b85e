import Foundation
import MeshProxy
import MeshTestSupport
import Testing

/// curl and wrk against a live proxy.
@Suite struct RealClientTests {
    /// Runs a tool (found on PATH) with a bounded wait; returns status and standard output.
    static func run(_ tool: String, _ arguments: [String], timeout: TimeInterval = 30) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(tool, arguments, error: .discard, timeout: .milliseconds(Int(timeout * 1000)))
        return (result.status, result.stdout)
    }

    @Test func curlWithHostHeaderAndThroughTheProxyWithDashX() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("header-routing")]) { mesh in
            let direct = try await Self.run("curl", ["-s", "-i", "-H", "Host: reviews", "-H", "x-user-group: beta", "http://127.0.0.1:\(mesh.port)/"])
            #expect(direct.status == 0)
            #expect(direct.output.hasPrefix("HTTP/1.1 200 OK"))
            #expect(direct.output.contains("x-meshsim-route: default/reviews/beta-users"))
            #expect(direct.output.contains("x-meshsim-version: v2"))

            let proxied = try await Self.run("curl", ["-s", "-i", "-x", "http://127.0.0.1:\(mesh.port)", "-H", "x-user-group: beta", "http://reviews/"])
            #expect(proxied.status == 0)
            #expect(proxied.output.hasPrefix("HTTP/1.1 200 OK"))
            #expect(proxied.output.contains("x-meshsim-destination: reviews.default.svc.cluster.local|v2"))
        }
    }

    @Test func wrkBurstOnAHealthyConfigGetsNoErrors() async throws {
        try await TestMesh.with(
            files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/25-canary-25.yaml")],
            configuration: TestMesh.configuration(workers: 2)
        ) { mesh in
            let result = try await Self.run("wrk", ["-t", "1", "-c", "16", "-d", "2s", "-H", "Host: reviews", "http://127.0.0.1:\(mesh.port)/"], timeout: 60)
            #expect(result.status == 0)
            #expect(!result.output.contains("Non-2xx"), "\(result.output)")
            #expect(!result.output.contains("Socket errors"), "\(result.output)")
            let stats = await mesh.proxy.collectStats()
            let completed = stats.requestCount(cluster: "outbound|9080|v1|reviews.default.svc.cluster.local", responseCode: 200)
                + stats.requestCount(cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", responseCode: 200)
            #expect(completed > 100)
            #expect(stats.workers == 2)
        }
    }
}
