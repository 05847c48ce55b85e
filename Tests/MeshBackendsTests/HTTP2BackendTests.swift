import Foundation
import MeshBackends
import MeshConfig
import MeshTestSupport
import NIOCore
import NIOPosix
import Testing

/// Simulated pods behind HTTP/2 and gRPC Service ports: h2c with prior knowledge and HTTP/1.1
/// on one port, gRPC answers (length-prefixed message + `grpc-status` trailers, trailers-only
/// errors), driven by curl and nghttp.
@Suite struct HTTP2BackendTests {
    static func withH2Backend<T>(
        profile: BehaviorProfile = BehaviorProfile(), _ body: (SimulatedBackend) async throws -> T
    ) async throws -> T {
        let backend = try await SimulatedBackend.start(
            identity: BackendIdentity(workload: "greeter-v2", version: "v2", pod: "greeter-v2-0"), profile: profile,
            group: MultiThreadedEventLoopGroup.singleton, seed: 7, servesHTTP2: true)
        do {
            let result = try await body(backend)
            try await backend.shutdown()
            return result
        } catch {
            try? await backend.shutdown()
            throw error
        }
    }

    static func nghttp(_ arguments: [String]) async throws -> ChildProcess.Result {
        try await ChildProcess.run("/usr/bin/nghttp", arguments, timeout: .seconds(30))
    }

    @Test func answersPriorKnowledgeAndHTTP1OnOnePort() async throws {
        try await Self.withH2Backend { backend in
            let h2 = try await curl(["--http2-prior-knowledge", "-D", "-", "http://127.0.0.1:\(backend.port)/hello"], timeout: 20)
            #expect(h2.status == 0, "\(h2.stderr)")
            #expect(h2.stdout.hasPrefix("HTTP/2 200"), "\(h2.stdout)")
            #expect(h2.stdout.contains("x-meshsim-pod: greeter-v2-0"))
            #expect(h2.stdout.hasSuffix("workload=greeter-v2 version=v2 pod=greeter-v2-0 namespace=default\n"))

            let h1 = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/hello"], timeout: 20)
            #expect(h1.status == 0, "\(h1.stderr)")
            let response = try #require(CurlResponse(h1.stdout))
            #expect(response.status == 200)
            #expect(response.headers["x-meshsim-pod"] == "greeter-v2-0")

            let echo = try await curl(["--http2-prior-knowledge", "--data-binary", "12345", "http://127.0.0.1:\(backend.port)/echo"], timeout: 20)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(echo.stdout.utf8)) as? [String: Any])
            #expect(json["httpVersion"] as? String == "HTTP/2.0")
            #expect(json["bodyBytes"] as? Int == 5)
            #expect(backend.stats.requestsServed == 3)
            #expect(backend.stats.connectionsAccepted == 3)
        }
    }

    @Test func grpcSuccessCarriesOneMessageAndStatusTrailers() async throws {
        try await Self.withH2Backend { backend in
            let output = try await Self.nghttp(
                ["-v", "-H", "content-type: application/grpc", "-H", "te: trailers", "http://127.0.0.1:\(backend.port)/helloworld.Greeter/SayHello"])
            #expect(output.status == 0, "\(output.stderr)")
            let greeting = "workload=greeter-v2 version=v2 pod=greeter-v2-0 namespace=default\n"
            #expect(output.stdout.contains(":status: 200"))
            #expect(output.stdout.contains("content-type: application/grpc"))
            // One DATA frame: the 5-byte length prefix and the message.
            #expect(output.stdout.contains("recv DATA frame <length=\(5 + greeting.utf8.count), flags=0x00"), "\(output.stdout)")
            // The status comes last, in trailers that end the stream.
            let trailers = try #require(output.stdout.range(of: "grpc-status: 0"))
            let data = try #require(output.stdout.range(of: "recv DATA frame"))
            #expect(data.upperBound < trailers.lowerBound)
        }
    }

    @Test func grpcInjectedErrorIsTrailersOnlyUnavailable() async throws {
        try await Self.withH2Backend(profile: BehaviorProfile(errorRate: 1, errorCode: 503)) { backend in
            let output = try await Self.nghttp(
                ["-v", "-H", "content-type: application/grpc", "http://127.0.0.1:\(backend.port)/helloworld.Greeter/SayHello"])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout.contains(":status: 200"))
            #expect(output.stdout.contains("grpc-status: 14"))
            #expect(output.stdout.contains("grpc-message: injected error from pod greeter-v2-0"))
            #expect(!output.stdout.contains("recv DATA frame"), "\(output.stdout)")
            // Plain HTTP/2 requests still get the HTTP error code.
            let plain = try await curl(
                ["--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(backend.port)/"],
                timeout: 20)
            #expect(plain.stdout == "503")
            #expect(backend.stats.errorsInjected == 2)
        }
    }

    @Test func fleetServesH2cOnlyBehindHTTP2Ports() async throws {
        // greeter's port is gRPC by name, h2's by appProtocol; web's is plain HTTP.
        let yaml = FixtureYAML.documents(
            FixtureYAML.deployment(app: "greeter", version: "v1"), FixtureYAML.deployment(app: "web", version: "v1"),
            FixtureYAML.deployment(app: "h2", version: "v1"), FixtureYAML.service("greeter", port: 50051, portName: "grpc-api"),
            FixtureYAML.service("web", port: 80, portName: "http-web"),
            FixtureYAML.service("h2", port: 80, portName: "web", appProtocol: "kubernetes.io/h2c"))
        let result = ConfigLoader().load(text: yaml, file: "fleet.yaml")
        #expect(!result.hasErrors, "\(result.errors)")
        let pods = try BackendFleet.pods(of: result.resources, seed: 1)
        #expect(pods["default/greeter-v1-0"]?.servesHTTP2 == true)
        #expect(pods["default/h2-v1-0"]?.servesHTTP2 == true)
        #expect(pods["default/web-v1-0"]?.servesHTTP2 == false)

        let fleet = try await BackendFleet.start(resources: result.resources, group: MultiThreadedEventLoopGroup.singleton)
        do {
            let greeter = try #require(fleet.addresses["default/greeter-v1-0"])
            let web = try #require(fleet.addresses["default/web-v1-0"])
            let h2 = try await curl(
                ["--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "http://127.0.0.1:\(greeter.port)/"],
                timeout: 20)
            #expect(h2.stdout == "2 200", "\(h2.stderr)")
            // An HTTP/1.1-only pod does not understand the preface.
            let refused = try await curl(
                ["--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(web.port)/"],
                timeout: 20)
            #expect(refused.stdout != "200")
            try await fleet.shutdown()
        } catch {
            try? await fleet.shutdown()
            throw error
        }
    }
}
