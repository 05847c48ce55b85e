import MeshHTTP2
import MeshProxy
import MeshTestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import MeshProxy

/// A gRPC call is timed by its own `grpc-timeout`, capped at the route's timeout (Istio sets
/// `max_grpc_timeout` on every route), and a timed-out call is answered DEADLINE_EXCEEDED.
@Suite struct GRPCTimeoutTests {
    @Test(arguments: [
        ("1H", 3_600_000), ("2M", 120_000), ("3S", 3_000), ("250m", 250), ("1500u", 1), ("999u", 0), ("2000000n", 2),
        ("12345678m", 12_345_678),
    ] as [(String, Int64)])
    func headerValues(value: String, milliseconds: Int64) {
        #expect(GRPCTimeout.milliseconds(value) == milliseconds)
    }

    @Test(arguments: ["", "m", "10", "123456789m", "10x", "-5m", "1.5S", " 5m"])
    func malformedHeadersAreIgnored(value: String) {
        #expect(GRPCTimeout.milliseconds(value) == nil)
    }

    @Test func theRouteTimeoutCapsTheHeader() {
        #expect(GRPCTimeout.effective(header: "5S", routeMilliseconds: 100) == .milliseconds(100))
        #expect(GRPCTimeout.effective(header: "50m", routeMilliseconds: 10_000) == .milliseconds(50))
        #expect(GRPCTimeout.effective(header: nil, routeMilliseconds: 300) == .milliseconds(300))
        #expect(GRPCTimeout.effective(header: "50m", routeMilliseconds: 0) == .milliseconds(50))
        #expect(GRPCTimeout.effective(header: nil, routeMilliseconds: 0) == nil)
        #expect(GRPCTimeout.effective(header: "999u", routeMilliseconds: 0) == nil)
    }

    /// Against a pod that takes 400 ms: `grpc-timeout: 50m` ends the call with grpc-status 4 and
    /// flag UT, with or without a (longer) VirtualService timeout; a call without the header, or
    /// an HTTP/2 request that is not gRPC, waits for the answer.
    @Test(arguments: [
        ("", true, "50m", true),
        ("\n    timeout: 10s", true, "50m", true),
        ("\n    timeout: 60ms", true, "5S", true),
        ("", true, nil, false),
        ("", false, "50m", false),
    ] as [(String, Bool, String?, Bool)])
    func callsAreTimedByTheirDeadline(routeTimeout: String, isGRPC: Bool, header: String?, timesOut: Bool) async throws {
        let yaml = TestMesh.service("greeter", versions: ["v1": ["meshsim.dev/latency": "400ms"]]) + "---\n"
            + FixtureYAML.virtualService("greeter", http: "- route: [{destination: {host: greeter}}]" + routeTimeout.replacingOccurrences(of: "\n    ", with: "\n  "))
        try await TestMesh.with(yaml: yaml) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                var headers: HTTPHeaders = isGRPC ? ["content-type": "application/grpc", "te": "trailers"] : [:]
                if let header { headers.add(name: "grpc-timeout", value: header) }
                var message = ByteBuffer(bytes: [0, 0, 0, 0, 5])
                message.writeString("hello")
                let response = try await client.request(
                    HTTP2RequestHead(method: "POST", authority: "greeter", path: "/helloworld.Greeter/SayHello", headers: headers), body: message)
                if timesOut {
                    #expect(response.head.status == 200)
                    #expect(response.head.headers.first(name: "grpc-status") == "4")
                    #expect(response.head.headers.first(name: "grpc-message") == "upstream request timeout")
                    let stats = await mesh.proxy.collectStats()
                    #expect(stats.requestCount(cluster: "outbound|9080||greeter.default.svc.cluster.local", flags: .upstreamRequestTimeout) == 1)
                } else {
                    #expect(response.head.status == 200)
                    #expect(response.head.headers.first(name: "grpc-status") == nil)
                }
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }
}

/// Istio's default retry policy names gRPC's `unavailable` and `cancelled`: Envoy retries a
/// trailers-only answer with that `grpc-status`, as it retries an HTTP status.
@Suite struct GRPCRetryTests {
    static func mesh(retries: String?) -> String {
        [
            FixtureYAML.service("greeter", port: 50051, portName: "grpc"),
            FixtureYAML.deployment(app: "greeter", version: "v1", annotations: "{\"meshsim.dev/error-rate\": \"100%\"}"),
            FixtureYAML.virtualService("greeter", http: "- route: [{destination: {host: greeter}}]" + (retries.map { "\n  retries: \($0)" } ?? "")),
        ].joined(separator: "\n---\n")
    }

    @Test(arguments: [
        (nil, 3, true),  // Istio's default: 2 retries on unavailable
        ("{attempts: 0}", 1, false),
        ("{attempts: 1, retryOn: \"5xx\"}", 1, false),  // no gRPC condition named
        ("{attempts: 1, retryOn: \"unavailable\"}", 2, true),
        ("{attempts: 3, retryOn: \"cancelled\"}", 1, false),  // 14 is not CANCELLED
    ] as [(String?, Int, Bool)])
    func unavailableAnswersAreRetriedAsThePolicySays(retries: String?, tries: Int, limitExceeded: Bool) async throws {
        try await TestMesh.with(yaml: Self.mesh(retries: retries)) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                var message = ByteBuffer(bytes: [0, 0, 0, 0, 5])
                message.writeString("hello")
                let response = try await client.request(
                    HTTP2RequestHead(
                        method: "POST", authority: "greeter:50051", path: "/helloworld.Greeter/SayHello",
                        headers: ["content-type": "application/grpc", "te": "trailers"]),
                    body: message)
                #expect(response.head.headers.first(name: "grpc-status") == "14")
                #expect(mesh.fleet.stats.values.reduce(0) { $0 + $1.requestsServed } == tries)
                let stats = await mesh.proxy.collectStats()
                let cluster = "outbound|50051||greeter.default.svc.cluster.local"
                #expect(stats.requestCount(cluster: cluster, flags: .upstreamRetryLimitExceeded) == (limitExceeded ? 1 : 0))
                #expect(stats.clusters[cluster]?.retries == UInt64(tries - 1))
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }
}
