import Foundation
import MeshTestSupport
import Testing

@testable import MeshHTTP2

/// Real curl against the answer server: HTTP/2 prior knowledge, HTTP/1.1 through the sniffer,
/// and `Upgrade: h2c`.
@Suite(.serialized) struct CurlTests {
    @Test func priorKnowledgeRequestReachesTheDelegateWithItsHeaders() async throws {
        try await withAnswerServer { server in
            let result = try await ChildProcess.run(
                "curl",
                [
                    "-sS", "--http2-prior-knowledge", "-H", "X-Custom: Yes", "-w",
                    "\\n%{http_version} %{response_code}", "\(server.url)/inspect?q=1",
                ]
            )
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout.contains(
                    "stream=1 method=GET scheme=http authority=127.0.0.1:\(server.port) path=/inspect?q=1"
                )
            )
            #expect(result.stdout.contains("x-custom"))
            #expect(result.stdout.hasSuffix("\n2 200"))
        }
    }

    @Test func http11OnTheSamePortGoesThroughTheSniffer() async throws {
        let (_, result) = try await withAnswerServer { server in
            (server, try await ChildProcess.run("curl", ["-sS", "--http1.1", "-i", "\(server.url)/anything"]))
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("HTTP/1.1 200"))
        #expect(result.stdout.lowercased().contains("x-protocol: http/1.1"))
        #expect(result.stdout.hasSuffix("hello over http/1.1\n"))
    }

    @Test func upgradeToH2cMakesTheRequestStreamOne() async throws {
        let (server, result) = try await withAnswerServer { server in
            (server, try await ChildProcess.run("curl", ["-sS", "-v", "--http2", "\(server.url)/inspect"]))
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("HTTP/1.1 101"))
        #expect(result.stderr.contains("HTTP/2 200"))
        #expect(
            result.stdout.contains("stream=1 method=GET scheme=http authority=127.0.0.1:\(server.port) path=/inspect")
        )
        // Hop-by-hop fields of the HTTP/1.1 request do not reach the HTTP/2 delegate.
        #expect(!result.stdout.lowercased().contains("http2-settings"))
        #expect(!result.stdout.lowercased().contains("upgrade"))
    }

    /// Upgrades the codec declines are answered over HTTP/1.1 instead of failing.
    @Test(arguments: [
        ["-H", "HTTP2-Settings: !!not-base64!!"],
        ["-H", "HTTP2-Settings: AAMAAABk", "-d", "a request body"],
    ])
    func declinedUpgradeIsServedOverHTTP11(_ extra: [String]) async throws {
        let (_, result) = try await withAnswerServer { server in
            let upgrade = ["-H", "Connection: Upgrade, HTTP2-Settings", "-H", "Upgrade: h2c"]
            return (
                server, try await ChildProcess.run("curl", ["-sS", "-i", "--http1.1"] + upgrade + extra + ["\(server.url)/inspect"])
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("HTTP/1.1 200"))
        #expect(result.stdout.hasSuffix("hello over http/1.1\n"))
    }

    @Test func trailersReachCurl() async throws {
        let (_, result) = try await withAnswerServer { server in
            (server, try await ChildProcess.run("curl", ["-sS", "-v", "--http2-prior-knowledge", "\(server.url)/trailers"]))
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "payload")
        #expect(result.stderr.contains("grpc-status: 0"))
        #expect(result.stderr.contains("grpc-message: all good"))
    }

    /// 64 MiB up and back through `/echo`: the echo returns window only as bytes leave, so the
    /// server's queue stays bounded by the stream window, not the body.
    @Test func largeUploadIsEchoedByteForByteWithBoundedBuffering() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let input = directory.path("upload.bin")
        let output = directory.path("echo.bin")
        try Self.writePattern(to: input, count: 64 << 20, seed: 7)
        let (server, result) = try await withAnswerServer { server in
            (
                server,
                try await ChildProcess.run(
                    "curl",
                    [
                        "-sS", "--http2-prior-knowledge", "-T", input, "-o", output, "-w", "%{http_code}",
                        "\(server.url)/echo",
                    ],
                    timeout: .seconds(180)
                )
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "200")
        #expect(FileManager.default.contentsEqual(atPath: input, andPath: output))
        #expect(server.observations.maxOutboundQueuedBytes > 0)
        #expect(server.observations.maxOutboundQueuedBytes <= 1 << 20)
    }

    @Test func largeDownloadStreamsWhileWritable() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = directory.path("download.bin")
        let size = 64 << 20
        let (server, result) = try await withAnswerServer { server in
            (
                server,
                try await ChildProcess.run(
                    "curl",
                    [
                        "-sS", "--http2-prior-knowledge", "-o", output, "-w", "%{http_code}",
                        "\(server.url)/download?bytes=\(size)",
                    ],
                    timeout: .seconds(180)
                )
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "200")
        let data = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(data.count == size)
        #expect(data == Data(PatternBytes.buffer(offset: 0, count: size).readableBytesView))
        // The generator writes only while the stream is writable (256 KiB high watermark).
        #expect(server.observations.maxOutboundQueuedBytes <= 1 << 20)
    }

    static func writePattern(to path: String, count: Int, seed: UInt8) throws {
        var bytes = [UInt8](repeating: 0, count: count)
        var state = UInt32(seed) &+ 1
        for index in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            bytes[index] = UInt8(truncatingIfNeeded: state >> 24)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
