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
        try await withBackend(
            identity: BackendIdentity(workload: "greeter-v2", version: "v2", pod: "greeter-v2-0"), profile: profile, seed: 7,
            servesHTTP2: true, body)
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

    @Test func fleetPodsAnswerHTTP1AndH2cWhateverTheirPortProtocol() async throws {
        // A simulated pod stands for an app with its sidecar: what reaches it over HTTP/2 is
        // decided by the client side's cluster, so a pod behind a plain HTTP port takes h2c too.
        let yaml = FixtureYAML.documents(
            FixtureYAML.deployment(app: "greeter", version: "v1"), FixtureYAML.deployment(app: "web", version: "v1"),
            FixtureYAML.service("greeter", port: 50051, portName: "grpc-api"), FixtureYAML.service("web", port: 80, portName: "http-web"))
        let result = ConfigLoader().load(text: yaml, file: "fleet.yaml")
        #expect(!result.hasErrors, "\(result.errors)")
        let fleet = try await BackendFleet.start(resources: result.resources, group: MultiThreadedEventLoopGroup.singleton)
        do {
            for pod in ["default/greeter-v1-0", "default/web-v1-0"] {
                let address = try #require(fleet.addresses[pod])
                let h2 = try await curl(
                    ["--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "http://127.0.0.1:\(address.port)/"],
                    timeout: 20)
                #expect(h2.stdout == "2 200", "\(pod): \(h2.stderr)")
                let h1 = try await curl(["-o", "/dev/null", "-w", "%{http_version} %{http_code}", "http://127.0.0.1:\(address.port)/"], timeout: 20)
                #expect(h1.stdout == "1.1 200", "\(pod): \(h1.stderr)")
            }
            try await fleet.shutdown()
        } catch {
            try? await fleet.shutdown()
            throw error
        }
    }
}
