import Foundation
import MeshProxy
import MeshTestSupport
import Testing

/// A real gRPC client and real gRPC servers (grpcio, gRPC's C core, from Debian's
/// python3-grpcio) through the proxy: `Tests/Fixtures/grpc-echo.py`. gRPC's own codec is the
/// strict reader of HTTP/2 here: it takes a call's status only from the HEADERS frame that ends
/// the stream, so an answer re-framed on the way (a trailers-only answer sent as HEADERS and
/// then an empty DATA frame) reaches the application as UNKNOWN.
@Suite struct GRPCInteropTests {
    static let python = "/usr/bin/python3"
    static let script = TestConfigs.repositoryRoot.appendingPathComponent("Tests/Fixtures/grpc-echo.py").path

    /// One `grpc-echo.py server`, stopped by closing its standard input.
    final class EchoServer {
        let child: ChildProcess
        let port: Int

        init(version: String) async throws {
            child = try ChildProcess(GRPCInteropTests.python, [GRPCInteropTests.script, "server", version], input: .openPipe)
            guard let line = await child.waitForLine(timeout: .seconds(30), where: { _ in true }), let port = Int(line) else {
                await child.terminate()
                throw EchoServerError.noPort(child.standardError)
            }
            self.port = port
        }

        func stop() async {
            child.closeStandardInput()
            await child.terminate()
        }
    }

    enum EchoServerError: Error { case noPort(String), badOutput(String) }

    struct CallResult: Decodable {
        var call: String
        var code: String
        var details: String
        var reply: String?
        var trailers: [String: String]
    }

    /// Runs the fixture's client through the proxy; one result per call, in order.
    static func calls(_ names: [String], port: Int, authority: String) async throws -> [String: CallResult] {
        let result = try await ChildProcess.run(
            python, [script, "client", "127.0.0.1:\(port)", authority] + names, timeout: .seconds(60))
        guard result.status == 0, !result.timedOut else { throw EchoServerError.badOutput(result.description) }
        let decoded = try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(CallResult.self, from: Data($0.utf8)) }
        #expect(decoded.map(\.call) == names)
        return Dictionary(decoded.map { ($0.call, $0) }, uniquingKeysWith: { first, _ in first })
    }

    static func echoMesh(v1: Int, v2: Int) -> String {
        FixtureYAML.documents(
            FixtureYAML.serviceEntry(
                "echo", host: "echo.example", port: 50051, portName: "grpc", protocol: "GRPC",
                endpoints: [
                    "{address: 127.0.0.1, labels: {version: v1}, ports: {grpc: \(v1)}}",
                    "{address: 127.0.0.1, labels: {version: v2}, ports: {grpc: \(v2)}}",
                ]),
            FixtureYAML.destinationRule("echo", host: "echo.example", versions: ["v1", "v2"]),
            FixtureYAML.virtualService(
                "echo", hosts: ["echo.example"],
                http: """
                    - match: [{headers: {x-user-group: {exact: beta}}}]
                      route: [{destination: {host: echo.example, subset: v2}}]
                    - route: [{destination: {host: echo.example, subset: v1}}]
                    """))
    }

    @Test func everyKindOfCallWithItsStatusAndTrailersReachesTheClient() async throws {
        let v1 = try await EchoServer(version: "v1")
        let v2: EchoServer
        do { v2 = try await EchoServer(version: "v2") } catch {
            await v1.stop()
            throw error
        }
        do {
            try await AdminHarness.with(yaml: Self.echoMesh(v1: v1.port, v2: v2.port)) { harness in
                let mesh = harness.mesh
                let results = try await Self.calls(
                    ["say", "say-beta", "fail", "count", "sum", "shout", "missing"], port: mesh.port, authority: "echo.example:50051")
                #expect(results["say"]?.code == "OK")
                #expect(results["say"]?.reply == "v1|hello|-")
                #expect(results["say"]?.trailers["x-version"] == "v1")
                #expect(results["say-beta"]?.reply == "v2|hello|beta")
                #expect(results["say-beta"]?.trailers["x-version"] == "v2")
                // Trailers-only answers: the status, its message and the trailing metadata.
                #expect(results["fail"]?.code == "FAILED_PRECONDITION")
                #expect(results["fail"]?.details == "asked to fail")
                #expect(results["fail"]?.trailers["x-why"] == "asked")
                #expect(results["missing"]?.code == "UNIMPLEMENTED")
                // Streaming each way.
                #expect(results["count"]?.reply == "0,1,2,3,4")
                #expect(results["sum"]?.reply == "100005")
                #expect(results["shout"]?.reply == "A,B")

                let stats = await mesh.proxy.collectStats()
                let v1Cluster = "outbound|50051|v1|echo.example"
                #expect(stats.requestCount(cluster: v1Cluster, responseCode: 200, requestProtocol: "grpc", grpcResponseStatus: "0") == 4)
                #expect(stats.requestCount(cluster: v1Cluster, responseCode: 200, requestProtocol: "grpc", grpcResponseStatus: "9") == 1)
                #expect(stats.requestCount(cluster: v1Cluster, responseCode: 200, requestProtocol: "grpc", grpcResponseStatus: "12") == 1)
                #expect(stats.requestCount(cluster: "outbound|50051|v2|echo.example", requestProtocol: "grpc", grpcResponseStatus: "0") == 1)

                // Messages each way, as Envoy's grpc_stats filter counts them for Istio: on v1,
                // say 1/1, fail 1/0, count 1/5, sum 3/1, shout 2/2, missing 1/0.
                let metrics = try await harness.metrics()
                #expect(metrics.types["istio_request_messages_total"] == "counter")
                #expect(metrics.sum("istio_request_messages_total", ["destination_version": "v1"]) == 9)
                #expect(metrics.sum("istio_response_messages_total", ["destination_version": "v1"]) == 9)
                #expect(metrics.sum("istio_request_messages_total", ["destination_version": "v1", "grpc_response_status": "9"]) == 1)
                #expect(metrics.sum("istio_response_messages_total", ["destination_version": "v1", "grpc_response_status": "9"]) == 0)
                #expect(metrics.sum("istio_response_messages_total", ["destination_version": "v2"]) == 1)
            }
        } catch {
            await v1.stop()
            await v2.stop()
            throw error
        }
        await v1.stop()
        await v2.stop()
    }

    /// An HTTP/1.1 client gets a trailers-only answer as a head with `content-length: 0`, as
    /// Envoy's HTTP/1.1 encoder frames a head that ends the stream.
    @Test func aTrailersOnlyAnswerToAnHTTP1ClientIsFramedWithAZeroLength() async throws {
        let v1 = try await EchoServer(version: "v1")
        do {
            try await TestMesh.with(yaml: Self.echoMesh(v1: v1.port, v2: v1.port)) { mesh in
                let result = try await ChildProcess.run(
                    "/usr/bin/curl",
                    ["-s", "--http1.1", "-D", "-", "-o", "/dev/null", "-H", "Host: echo.example:50051", "-H", "content-type: application/grpc",
                     "-H", "te: trailers", "--data-binary", "", "http://127.0.0.1:\(mesh.port)/echo.Echo/Missing"],
                    timeout: .seconds(30))
                let head = result.stdout.lowercased()
                #expect(head.hasPrefix("http/1.1 200"))
                #expect(head.contains("grpc-status: 12\r\n"))
                #expect(head.contains("content-length: 0\r\n"))
                #expect(!head.contains("transfer-encoding"))
            }
        } catch {
            await v1.stop()
            throw error
        }
        await v1.stop()
    }

    /// meshsim's own simulated gRPC pods: an injected error is a trailers-only UNAVAILABLE,
    /// which a gRPC client must read as such (after Istio's default retries of `unavailable`).
    @Test func simulatedPodsErrorsReachAGRPCClientAsUnavailable() async throws {
        let yaml = FixtureYAML.documents(
            FixtureYAML.service("greeter", port: 50051, portName: "grpc-api"),
            FixtureYAML.deployment(app: "greeter", version: "v1", annotations: "{\"meshsim.dev/error-rate\": \"100%\"}"),
            FixtureYAML.deployment(app: "greeter", version: "v2"),
            FixtureYAML.destinationRule("greeter", versions: ["v1", "v2"]),
            FixtureYAML.virtualService(
                "greeter",
                http: """
                    - match: [{headers: {x-user-group: {exact: beta}}}]
                      route: [{destination: {host: greeter, subset: v2}}]
                    - route: [{destination: {host: greeter, subset: v1}}]
                    """))
        try await TestMesh.with(yaml: yaml) { mesh in
            let results = try await Self.calls(["greet", "greet-beta"], port: mesh.port, authority: "greeter:50051")
            #expect(results["greet"]?.code == "UNAVAILABLE")
            #expect(results["greet-beta"]?.code == "OK")
            #expect(results["greet-beta"]?.reply?.isEmpty == false)
        }
    }
}
