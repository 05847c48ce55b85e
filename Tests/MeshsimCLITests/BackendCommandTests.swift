import Foundation
import MeshTestSupport
import Testing

@Suite struct BackendCommandTests {
    /// A `meshsim backend` process whose output is read while it runs.
    final class RunningBackend: RunningMeshsim, @unchecked Sendable {
        init(_ arguments: [String]) throws { try super.init(subcommand: "backend", arguments) }
    }

    static func curl(_ url: String) async throws -> (status: Int32, output: String) {
        let result = try await ChildProcess.run(
            "/usr/bin/curl", ["-sS", "-i", "--max-time", "20", url], error: .mergedIntoOutput, timeout: .seconds(30))
        return (result.status, result.stdout)
    }

    @Test func servesUntilSIGTERMThenExitsCleanly() async throws {
        let backend = try RunningBackend([
            "--listen", "127.0.0.1:0", "--name", "ratings", "--version", "v3", "--body-bytes", "100", "--seed", "5",
        ])
        defer { _ = backend.stop() }
        let port = try #require(await backend.listeningPort(), "no listening line in: \(backend.text)")

        let answer = try await Self.curl("http://127.0.0.1:\(port)/anything")
        #expect(answer.status == 0, "\(answer.output)")
        #expect(answer.output.hasPrefix("HTTP/1.1 200 OK"))
        #expect(answer.output.contains("x-meshsim-workload: ratings\r\n"))
        #expect(answer.output.contains("x-meshsim-version: v3\r\n"))
        #expect(answer.output.contains("x-meshsim-pod: ratings-0\r\n"))
        #expect(answer.output.contains("content-length: 100\r\n"))
        let status = try await Self.curl("http://127.0.0.1:\(port)/status/418")
        #expect(status.output.hasPrefix("HTTP/1.1 418"))

        #expect(await backend.stop(), "did not exit on SIGTERM")
        #expect(backend.child.termination == .exited(0))
        #expect(backend.text.contains("2 requests served"))
        // Nothing of this pod answers any more. (Another test's listener may have been given
        // the freed port by then, so a connection alone proves nothing: seen once.)
        let after = try await Self.curl("http://127.0.0.1:\(port)/")
        #expect(after.status != 0 || !after.output.contains("x-meshsim-pod: ratings-0\r\n"), "still answering after exit")
    }

    @Test func h2cFlagAnswersPriorKnowledgeAndGRPC() async throws {
        let backend = try RunningBackend(["--listen", "127.0.0.1:0", "--name", "greeter", "--version", "v2", "--h2c"])
        defer { _ = backend.stop() }
        let port = await backend.listeningPort()
        let listening = try #require(port, "no listening line in: \(backend.text)")
        #expect(backend.text.contains("(HTTP/1.1 and h2c)"))
        let h2 = try await Self.runTool(
            "/usr/bin/curl", ["-sS", "-i", "--max-time", "20", "--http2-prior-knowledge", "http://127.0.0.1:\(listening)/"])
        #expect(h2.hasPrefix("HTTP/2 200"), "\(h2)")
        #expect(h2.contains("x-meshsim-version: v2"))
        let grpc = try await Self.runTool(
            "/usr/bin/nghttp",
            ["-v", "-t", "20", "-H", "content-type: application/grpc", "http://127.0.0.1:\(listening)/helloworld.Greeter/SayHello"])
        #expect(grpc.contains("grpc-status: 0"), "\(grpc)")
        let stopped = await backend.stop()
        #expect(stopped, "did not exit on SIGTERM")
        #expect(backend.text.contains("2 requests served"))
    }

    /// `meshsim backend` runs the simulated pod's handler: a WebSocket handshake gets 101 with the
    /// pod's identity, and frames come back.
    @Test func webSocketUpgradeIsEchoed() async throws {
        let backend = try RunningBackend(["--listen", "127.0.0.1:0", "--name", "chat", "--version", "v2"])
        defer { _ = backend.stop() }
        let port = try #require(await backend.listeningPort(), "no listening line in: \(backend.text)")
        let client = try await WebSocketTestClient.connect(port: port)
        try await client.send(WebSocketTestClient.handshake(path: "/socket"))
        let head = try #require(try await client.readHead(), "no answer to the handshake")
        #expect(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(head.contains("sec-websocket-accept: \(WebSocketTestClient.sampleAccept)\r\n"))
        #expect(head.contains("\r\nx-meshsim-pod: chat-0") && head.contains("\r\nx-meshsim-version: v2\r\n"))
        try await client.send(TestFrame(text: "over the mesh"))
        #expect(try await client.readFrame()?.payload == Array("over the mesh".utf8))
        try await client.send(TestFrame(closeCode: 1000))
        #expect(try await client.readFrame()?.closeCode == 1000)
        #expect(try await client.waitForEOF())
        await client.close()
        #expect(await backend.stop(), "did not exit on SIGTERM")
        #expect(backend.text.contains("1 requests served"))
    }

    /// A tool's stdout and stderr; the tool is bounded by its own `--max-time`/timeouts, and by 60 s.
    static func runTool(_ executable: String, _ arguments: [String]) async throws -> String {
        try await ChildProcess.run(executable, arguments, error: .mergedIntoOutput, timeout: .seconds(60)).stdout
    }

    @Test func behaviourFlagsApply() async throws {
        let backend = try RunningBackend(["--listen", "127.0.0.1:0", "--name", "flaky", "--error-rate", "100%", "--error-code", "502"])
        defer { _ = backend.stop() }
        let port = try #require(await backend.listeningPort(), "no listening line in: \(backend.text)")
        let answer = try await Self.curl("http://127.0.0.1:\(port)/")
        #expect(answer.output.hasPrefix("HTTP/1.1 502"))
        #expect(answer.output.contains("x-meshsim-fault: error-rate\r\n"))
        #expect(await backend.stop())
        #expect(backend.child.termination == .exited(0))
    }

    @Test(arguments: [
        (["--name", "x", "--error-rate", "lots"], "--error-rate: invalid value \"lots\""),
        (["--name", "x", "--latency", "p50=9ms,p99=1ms"], "--latency: invalid value \"p50=9ms,p99=1ms\""),
        (["--name", "x", "--max-concurrency", "0"], "--max-concurrency: invalid value \"0\""),
        (["--name", "x", "--listen", "localhost"], "--listen: expected host:port"),
        (["--name", "x", "--listen", "127.0.0.1:70000"], "--listen: expected host:port"),
        (["--name", "two words"], "--name: \"two words\""),
        (["--version", "v1"], "--name"),
    ])
    func badFlagsFailWithAClearMessage(arguments: [String], message: String) async throws {
        let output = try await MeshsimRunner.run(["backend"] + arguments, timeout: 30)
        #expect(output.status != 0)
        #expect(output.stderr.contains(message), "\(output.stderr)")
    }

    @Test func anAddressInUseIsAnError() async throws {
        let first = try RunningBackend(["--listen", "127.0.0.1:0", "--name", "first"])
        defer { _ = first.stop() }
        let port = try #require(await first.listeningPort(), "no listening line in: \(first.text)")
        let second = try await MeshsimRunner.run(["backend", "--listen", "127.0.0.1:\(port)", "--name", "second"], timeout: 30)
        #expect(second.status != 0)
        #expect(second.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(second.stderr)")
    }
}
