import Foundation
import MeshProxy
import MeshTestSupport
import Testing

/// The h2c pod behind the proxy shows, in `/echo`, the fields the proxy added on the way (the
/// pod reads request fields as bytes and makes strings only for an echo), and answers gRPC
/// calls whatever the case of their content-type.
@Suite struct HTTP2PodEchoTests {
    static let yaml = HTTP2UpstreamTests.greeter()

    @Test func echoBehindTheProxyListsTheFieldsTheProxyAdded() async throws {
        try await TestMesh.with(yaml: Self.yaml) { mesh in
            let output = try await HTTP2UpstreamTests.curl([
                "--http2-prior-knowledge", "-H", "Host: greeter:50051", "-H", "x-client-note: kept",
                "http://127.0.0.1:\(mesh.port)/echo?n=1",
            ])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            #expect(json["path"] as? String == "/echo?n=1")
            #expect(json["httpVersion"] as? String == "HTTP/2.0")
            let headers = try #require(json["headers"] as? [String: String], "\(output)")
            #expect(headers["x-client-note"] == "kept")
            #expect(headers["host"] == "greeter:50051")
            // Added by the proxy, as Envoy adds them.
            #expect(headers["x-forwarded-proto"] == "http", "\(headers)")
            #expect(headers["x-envoy-attempt-count"] == "1", "\(headers)")
            #expect((headers["x-request-id"] ?? "").count == 36, "\(headers)")
        }
    }

    /// The pod hands each request's field storage back to the codec, which writes the next
    /// request's fields into it: requests in a row on the proxy's one upstream connection, with
    /// fields of different sizes (one larger than the storage), each echo their own.
    @Test func echoesInARowOnOneUpstreamConnectionEachShowTheirOwnFields() async throws {
        try await TestMesh.with(yaml: Self.yaml) { mesh in
            let notes = ["short", String(repeating: "long-", count: 400), "again-short", "x"]
            for (index, note) in notes.enumerated() {
                let output = try await HTTP2UpstreamTests.curl([
                    "--http2-prior-knowledge", "-H", "Host: greeter:50051", "-H", "x-client-note: \(note)",
                    "http://127.0.0.1:\(mesh.port)/echo?request=\(index)",
                ])
                let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
                #expect(json["path"] as? String == "/echo?request=\(index)")
                let headers = try #require(json["headers"] as? [String: String], "\(output)")
                #expect(headers["x-client-note"] == note, "request \(index): \(headers)")
                #expect(headers["host"] == "greeter:50051")
            }
            #expect(mesh.fleet.stats["default/greeter-v1-0"]?.connectionsAccepted == 1)
        }
    }

    @Test func grpcCallWithAMixedCaseContentTypeIsAnsweredTheGRPCWay() async throws {
        try await TestMesh.with(yaml: Self.yaml) { mesh in
            let output = try await HTTP2UpstreamTests.curl([
                "-s", "-o", "/dev/null", "-D", "-", "--http2-prior-knowledge", "-H", "Host: greeter:50051",
                "-H", "Content-Type: Application/GRPC", "-H", "TE: trailers", "--data-binary", "hello",
                "http://127.0.0.1:\(mesh.port)/helloworld.Greeter/SayHello",
            ])
            #expect(output.contains("content-type: application/grpc\r\n"), "\(output)")
            #expect(output.contains("x-meshsim-pod: greeter-v1-0\r\n"), "\(output)")
            // curl prints the trailers after the head when it dumps headers.
            #expect(output.contains("grpc-status: 0\r\n"), "\(output)")
        }
    }
}
