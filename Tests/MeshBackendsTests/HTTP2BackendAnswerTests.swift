import Foundation
import MeshBackends
import MeshTestSupport
import NIOPosix
import Testing

/// What a simulated pod's HTTP/2 answers carry, field by field and in order, now that requests
/// arrive as byte fields and answers are prepared once per behaviour: gRPC told apart on the
/// bytes, `/echo` showing every field the request had, the same identity fields on every kind of
/// answer, and answers that follow a behaviour swapped at run time.
@Suite struct HTTP2BackendAnswerTests {
    /// The fields of the response head(s) nghttp received (`-v`), in order, trailers last.
    static func receivedFields(_ output: String) -> [(name: String, value: String)] {
        output.split(separator: "\n").compactMap { line in
            guard let marker = line.range(of: "recv (stream_id=") else { return nil }
            guard let close = line[marker.upperBound...].range(of: ") ") else { return nil }
            let field = line[close.upperBound...]
            // A pseudo-header's name starts with ':', so look for ': ' after the first character.
            guard let separator = field.dropFirst().range(of: ": ") else { return nil }
            return (String(field[..<separator.lowerBound]), String(field[separator.upperBound...]))
        }
    }

    static func identityFields(_ fields: [(name: String, value: String)]) -> [String] {
        fields.filter { $0.name.hasPrefix("x-meshsim-") && $0.name != "x-meshsim-fault" }.map { "\($0.name): \($0.value)" }
    }

    static func withPod<T>(
        _ identity: BackendIdentity, profile: BehaviorProfile = BehaviorProfile(), _ body: (SimulatedBackend) async throws -> T
    ) async throws -> T {
        try await withBackend(identity: identity, profile: profile, seed: 11, servesHTTP2: true, body)
    }

    static let greeter = BackendIdentity(workload: "greeter-v2", version: "v2", pod: "greeter-v2-0")

    @Test func grpcIsToldApartByContentTypeInAnyCase() async throws {
        try await Self.withPod(Self.greeter) { backend in
            let url = "http://127.0.0.1:\(backend.port)/helloworld.Greeter/SayHello"
            let greeting = "workload=greeter-v2 version=v2 pod=greeter-v2-0 namespace=default\n"
            for contentType in ["Application/GRPC", "APPLICATION/grpc+proto"] {
                let output = try await HTTP2BackendTests.nghttp(["-v", "-H", "content-type: \(contentType)", url])
                #expect(output.status == 0, "\(output.stderr)")
                let fields = Self.receivedFields(output.stdout)
                #expect(fields.contains { $0 == ("content-type", "application/grpc") }, "\(contentType): \(fields)")
                #expect(fields.last.map { $0 == ("grpc-status", "0") } == true, "\(contentType): \(fields)")
                #expect(output.stdout.contains("recv DATA frame <length=\(5 + greeting.utf8.count), flags=0x00"), "\(output.stdout)")
            }
            // Only a content-type that starts so is gRPC.
            let plain = try await HTTP2BackendTests.nghttp(["-v", "-H", "content-type: text/plain; note=application/grpc", url])
            let fields = Self.receivedFields(plain.stdout)
            #expect(fields.contains { $0 == ("content-type", "text/plain; charset=utf-8") }, "\(fields)")
            #expect(!fields.contains { $0.name == "grpc-status" }, "\(fields)")
        }
    }

    @Test func echoListsEveryRequestFieldIncludingAProxysOwn() async throws {
        try await Self.withPod(Self.greeter) { backend in
            let output = try await HTTP2BackendTests.nghttp([
                "-H", ":authority: reviews.default.svc.cluster.local:9080", "-H", "x-request-id: 4b9c-11",
                "-H", "x-forwarded-proto: http", "-H", "x-envoy-attempt-count: 1", "-H", "cookie: a=1", "-H", "cookie: b=2",
                "http://127.0.0.1:\(backend.port)/echo?q=1",
            ])
            #expect(output.status == 0, "\(output.stderr)")
            // The fields in the order they arrived, repeated ones joined; Host from :authority last.
            let headers =
                "\"headers\":{\"accept\":\"*/*\",\"accept-encoding\":\"gzip, deflate\",\"user-agent\":\"nghttp2/"
            #expect(output.stdout.hasPrefix("{\"method\":\"GET\",\"path\":\"/echo?q=1\",\"httpVersion\":\"HTTP/2.0\",\(headers)"), "\(output.stdout)")
            #expect(
                output.stdout.contains(
                    "\"x-request-id\":\"4b9c-11\",\"x-forwarded-proto\":\"http\",\"x-envoy-attempt-count\":\"1\",\"cookie\":\"a=1, b=2\","
                        + "\"host\":\"reviews.default.svc.cluster.local:9080\"},\"bodyBytes\":0,\"workload\":\"greeter-v2\""),
                "\(output.stdout)")
        }
    }

    @Test func identityFieldsAreTheSameOnEveryKindOfAnswer() async throws {
        // A tab in a label is replaced, on HTTP/2 answers as on HTTP/1.1 ones.
        let identity = BackendIdentity(workload: "greeter\tv2", version: "v2", pod: "greeter-v2-0")
        let expected = ["x-meshsim-workload: greeter_v2", "x-meshsim-version: v2", "x-meshsim-pod: greeter-v2-0"]
        try await Self.withPod(identity) { backend in
            let base = "http://127.0.0.1:\(backend.port)"
            let requests: [[String]] = [
                ["\(base)/"], ["-H", ":method: HEAD", "\(base)/"], ["\(base)/status/404"], ["\(base)/status/204"], ["\(base)/status/7"],
                ["\(base)/echo"], ["-H", "content-type: application/grpc", "\(base)/svc/Method"],
            ]
            for arguments in requests {
                let output = try await HTTP2BackendTests.nghttp(["-v"] + arguments)
                #expect(Self.identityFields(Self.receivedFields(output.stdout)) == expected, "\(arguments): \(output.stdout)")
            }
            let h1 = try await curl(["-D", "-", "-o", "/dev/null", "\(base)/"], timeout: 20)
            #expect(h1.stdout.contains("x-meshsim-workload: greeter_v2\r\n"), "\(h1.stdout)")
        }
        try await Self.withPod(identity, profile: BehaviorProfile(errorRate: 1, errorCode: 502)) { backend in
            let base = "http://127.0.0.1:\(backend.port)"
            let http = try await HTTP2BackendTests.nghttp(["-v", "\(base)/"])
            let httpFields = Self.receivedFields(http.stdout)
            #expect(Self.identityFields(httpFields) == expected, "\(http.stdout)")
            #expect(httpFields.first.map { $0 == (":status", "502") } == true)
            #expect(httpFields.contains { $0 == ("x-meshsim-fault", "error-rate") })
            let grpc = try await HTTP2BackendTests.nghttp(["-v", "-H", "content-type: application/grpc", "\(base)/svc/Method"])
            let grpcFields = Self.receivedFields(grpc.stdout)
            #expect(Self.identityFields(grpcFields) == expected, "\(grpc.stdout)")
            #expect(grpcFields.contains { $0 == ("grpc-status", "14") })
        }
    }

    @Test func answersFollowABehaviourSwappedAtRunTime() async throws {
        try await Self.withPod(Self.greeter) { backend in
            let base = "http://127.0.0.1:\(backend.port)"
            let before = try await HTTP2BackendTests.nghttp(["-v", "\(base)/"])
            #expect(Self.receivedFields(before.stdout).first.map { $0 == (":status", "200") } == true)

            let renamed = BackendIdentity(workload: "greeter-v3", version: "v3", pod: "greeter-v3-0")
            backend.update(identity: renamed, profile: BehaviorProfile(errorRate: 1, errorCode: 500))
            let expected = ["x-meshsim-workload: greeter-v3", "x-meshsim-version: v3", "x-meshsim-pod: greeter-v3-0"]
            let http = try await HTTP2BackendTests.nghttp(["-v", "\(base)/"])
            let httpFields = Self.receivedFields(http.stdout)
            #expect(httpFields.first.map { $0 == (":status", "500") } == true, "\(http.stdout)")
            #expect(Self.identityFields(httpFields) == expected)
            #expect(http.stdout.contains("injected error 500 from pod greeter-v3-0"))

            backend.update(identity: renamed, profile: BehaviorProfile(bodyBytes: 10))
            let grpc = try await HTTP2BackendTests.nghttp(["-v", "-H", "content-type: application/grpc", "\(base)/svc/Method"])
            #expect(Self.identityFields(Self.receivedFields(grpc.stdout)) == expected)
            #expect(grpc.stdout.contains("recv DATA frame <length=15, flags=0x00"), "\(grpc.stdout)")
        }
    }
}
