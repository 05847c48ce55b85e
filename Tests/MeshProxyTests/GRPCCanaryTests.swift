import Foundation
import MeshHTTP2
import MeshProxy
import MeshTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// configs/grpc-canary end to end: an HTTP/2 client calls the proxy, which speaks h2c to the
/// simulated gRPC pods.
@Suite struct GRPCCanaryTests {
    static func call(_ client: H2TestClient, beta: Bool = false) async throws -> HTTP2Response {
        var headers: HTTPHeaders = ["content-type": "application/grpc", "te": "trailers"]
        if beta { headers.add(name: "x-user-group", value: "beta") }
        var message = ByteBuffer(bytes: [0, 0, 0, 0, 5])
        message.writeString("world")
        return try await client.request(
            HTTP2RequestHead(method: "POST", authority: "greeter:50051", path: "/helloworld.Greeter/SayHello", headers: headers),
            body: message)
    }

    @Test func thousandCallsSplitExactlyNinetyTenAndBetaGoesToV2() async throws {
        try await TestMesh.with(files: [TestConfigs.path("grpc-canary")]) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                var versions: [String: Int] = [:]
                var okStatuses = 0
                // 1,000 calls, 50 in flight at a time.
                for _ in 0..<20 {
                    let batch = try await withThrowingTaskGroup(of: HTTP2Response.self) { group in
                        for _ in 0..<50 { group.addTask { try await Self.call(client) } }
                        var responses: [HTTP2Response] = []
                        for try await response in group { responses.append(response) }
                        return responses
                    }
                    for response in batch {
                        versions[response.head.headers.first(name: "x-meshsim-version") ?? "none", default: 0] += 1
                        if response.head.status == 200 && response.trailers?.first(name: "grpc-status") == "0" { okStatuses += 1 }
                    }
                }
                #expect(versions == ["v1": 900, "v2": 100])
                #expect(okStatuses == 1000)
                for _ in 0..<20 {
                    let beta = try await Self.call(client, beta: true)
                    #expect(beta.head.headers.first(name: "x-meshsim-version") == "v2")
                    #expect(beta.trailers?.first(name: "grpc-status") == "0")
                }
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            let stats = await mesh.proxy.collectStats()
            let v2 = "outbound|50051|v2|greeter.default.svc.cluster.local"
            #expect(stats.requestCount(cluster: v2, responseCode: 200, requestProtocol: "grpc", grpcResponseStatus: "0") == 120)
            // Multiplexed: one event loop opens one connection per pod.
            #expect(stats.clusters[v2]?.connectionsOpened == 1)
        }
    }

    @Test func http1ClientReachesTheGRPCPods() async throws {
        try await TestMesh.with(files: [TestConfigs.path("grpc-canary")]) { mesh in
            let output = try await ChildProcess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--max-time", "20", "-i", "--http1.1", "-H", "Host: greeter:50051", "-H", "x-user-group: beta",
                    "http://127.0.0.1:\(mesh.port)/helloworld.Greeter/SayHello",
                ],
                error: .mergedIntoOutput, timeout: .seconds(30)
            ).stdout
            #expect(output.hasPrefix("HTTP/1.1 200"), "\(output)")
            #expect(output.contains("x-meshsim-version: v2"))
            #expect(output.contains("x-meshsim-workload: greeter-v2"))
        }
    }
}
