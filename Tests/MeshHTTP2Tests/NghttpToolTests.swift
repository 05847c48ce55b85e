import Foundation
import MeshTestSupport
import Testing

@testable import MeshHTTP2

/// nghttp (frame-level client) and h2load (load generator) against the answer server.
@Suite(.serialized) struct NghttpToolTests {
    @Test func nghttpSeesSettingsResponseAndGrpcTrailers() async throws {
        let result = try await withAnswerServer { server in
            try await ChildProcess.run("nghttp", ["-v", "-n", "\(server.url)/trailers"], timeout: .seconds(30))
        }
        #expect(result.status == 0, "\(result.stderr)")
        let output = result.stdout
        // The server preface advertises the configured limits.
        #expect(output.contains("[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):1024]"))
        #expect(output.contains("[SETTINGS_MAX_HEADER_LIST_SIZE(0x06):61440]"))
        #expect(output.contains(":status: 200"))
        // Trailers arrive in a second HEADERS frame that ends the stream.
        let trailerFrame = output.range(of: "grpc-status: 0")
        let dataFrame = output.range(of: "recv DATA frame")
        #expect(trailerFrame != nil && dataFrame != nil)
        if let trailerFrame, let dataFrame { #expect(dataFrame.lowerBound < trailerFrame.lowerBound) }
        #expect(output.contains("grpc-message: all good"))
    }

    @Test func nghttpUploadIsEchoedWithTrailers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.path("body.bin")
        try Data((0..<300_000).map { UInt8($0 % 199) }).write(to: URL(fileURLWithPath: input))
        let result = try await withAnswerServer { server in
            try await ChildProcess.run(
                "nghttp",
                ["-v", "-n", "-d", input, "--trailer", "x-checksum: 42", "\(server.url)/echo"],
                timeout: .seconds(30)
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        // Echoed trailers prove the request trailers reached the delegate.
        #expect(result.stdout.contains("echo-x-checksum: 42"))
        let received = result.stdout.components(separatedBy: "\n")
            .filter { $0.contains("recv DATA frame <length=") }
            .compactMap { line -> Int? in
                guard let start = line.range(of: "length=")?.upperBound else { return nil }
                return Int(line[start...].prefix { $0.isNumber })
            }
            .reduce(0, +)
        #expect(received == 300_000)
    }

    /// nghttp's own HTTP/1.1 Upgrade (a second client implementation of RFC 7540 §3.2).
    @Test func nghttpUpgradesFromHTTP11() async throws {
        let result = try await withAnswerServer { server in
            try await ChildProcess.run("nghttp", ["-v", "-u", "\(server.url)/inspect"], timeout: .seconds(30))
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("HTTP Upgrade response"))
        #expect(result.stdout.contains("HTTP Upgrade success"))
        #expect(result.stdout.contains("stream=1 method=GET scheme=http"))
    }

    @Test func h2loadCompletesEveryRequest() async throws {
        let (result, completed) = try await withAnswerServer { server in
            let result = try await ChildProcess.run(
                "h2load",
                ["-n", "20000", "-c", "10", "-m", "10", "\(server.url)/"],
                timeout: .seconds(120)
            )
            return (result, server.observations.completedStreams)
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains(
                "requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout"
            )
        )
        #expect(result.stdout.contains("status codes: 20000 2xx"))
        #expect(completed == 20000)
    }
}
