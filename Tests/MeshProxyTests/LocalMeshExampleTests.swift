import MeshProxy
import NIOHTTP1
import Testing

/// Runs the example in `LocalMesh`'s documentation comment, line for line, so it cannot rot.
@Suite struct LocalMeshExampleTests {
    @Test func documentedExampleRunsAsWritten() async throws {
        let configs = TestConfigs.path
        let mesh = try await LocalMesh.start(
            files: [configs("reviews"), configs("rollout/05-canary-5.yaml")],
            proxy: ProxyConfiguration(port: 0, workers: 1, split: .exact))
        var versions: [String: Int] = [:]
        for _ in 0..<100 {
            let response = try await mesh.send(host: "reviews", path: "/")
            versions[response.headers.first(name: "x-meshsim-version") ?? "?", default: 0] += 1
        }
        #expect(versions == ["v1": 95, "v2": 5])
        try await mesh.apply(files: [configs("reviews"), configs("rollout/50-canary-50.yaml")])
        var after: [String: Int] = [:]
        for _ in 0..<100 {
            let response = try await mesh.send(host: "reviews", path: "/")
            after[response.headers.first(name: "x-meshsim-version") ?? "?", default: 0] += 1
        }
        #expect(after == ["v1": 50, "v2": 50])
        try await mesh.stop()
    }
}
