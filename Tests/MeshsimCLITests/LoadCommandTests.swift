import Foundation
import MeshTestSupport
import Testing

/// `Tests/Fixtures/destination-server.py`, started for one test and stopped by it.
final class FixtureServer {
    let child: ChildProcess
    let port: Int

    init(_ arguments: [String]) throws {
        let script = MeshsimRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/destination-server.py").path
        child = try ChildProcess("python3", [script] + arguments, input: .openPipe)
        // The first line is the port; a server that dies first prints none.
        let line = child.waitForLine(timeout: .seconds(30)) { _ in true }
        guard let port = line.flatMap({ Int($0) }) else {
            child.terminate()
            throw FixtureError.noPort(child.standardError)
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)/reviews/0" }

    func stop() {
        child.closeStandardInput()  // the server exits when its stdin closes
        child.terminate()
    }

    enum FixtureError: Error { case noPort(String) }
}

@Suite(.serialized) struct LoadCommandTests {
    @Test func exactSplitPassesWithCheck() async throws {
        let server = try FixtureServer(["pattern", "20"])
        defer { server.stop() }
        let output = try await MeshsimRunner.run(["load", server.url, "--requests", "200", "--concurrency", "2", "--expect", "v1=95,v2=5", "--exact", "--check"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("v1         190"))
        #expect(output.stdout.contains("v2         10"))
        #expect(output.stdout.contains("exact counts checked"))
        #expect(output.stdout.hasSuffix("verdict: PASS\n"))
    }

    @Test func skewedSplitFailsTheCheck() async throws {
        let server = try FixtureServer(["pattern", "20"])
        defer { server.stop() }
        let output = try await MeshsimRunner.run(["load", server.url, "--requests", "1000", "--concurrency", "4", "--expect", "v1=90,v2=10", "--check", "--quiet"])
        #expect(output.status == 1)
        #expect(output.stdout.contains("verdict: FAIL"))
        #expect(output.stdout.contains("chi-square"))
        // Without --check the verdict is reported but does not fail the command.
        let unchecked = try await MeshsimRunner.run(["load", server.url, "--requests", "1000", "--concurrency", "4", "--expect", "v1=90,v2=10", "--quiet"])
        #expect(unchecked.status == 0)
        #expect(unchecked.stdout.contains("verdict: FAIL"))
    }

    @Test func jsonReportHasTheDocumentedFields() async throws {
        let server = try FixtureServer(["pattern", "20"])
        defer { server.stop() }
        let output = try await MeshsimRunner.run(["load", server.url, "--requests", "40", "--concurrency", "2", "--expect", "v1=95,v2=5", "--output", "json"])
        #expect(output.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(json["requests"] as? Int == 40)
        #expect(json["completed"] as? Int == 40)
        #expect(json["mode"] as? String == "closed-loop")
        #expect(json["verdict"] as? String == "PASS")
        let errors = try #require(json["errors"] as? [String: Any])
        #expect(errors["total"] as? Int == 0)
        let latency = try #require(json["latency"] as? [String: Any])
        #expect(latency["p99Ms"] is Double && latency["p999Ms"] is Double && latency["maxMs"] is Double)
        let classes = try #require(json["classes"] as? [[String: Any]])
        let split = try #require(classes.first?["split"] as? [String: Any])
        let subsets = try #require(split["subsets"] as? [[String: Any]])
        #expect(subsets.map { $0["observedCount"] as? Int } == [38, 2])
        #expect(split["pValue"] is Double)
        // Progress goes to stderr with JSON, so stdout is exactly one document.
        #expect(output.stdout.hasPrefix("{"))
    }

    @Test func configsGiveTheExpectation() async throws {
        let server = try FixtureServer(["usergroup", "20"])
        defer { server.stop() }
        let configs = ["-f", MeshsimRunner.configs("reviews"), "-f", MeshsimRunner.configs("header-routing")]
        let beta = try await MeshsimRunner.run(["load", server.url, "--requests", "100", "--concurrency", "2", "-H", "x-user-group: beta", "--exact", "--check", "--quiet"] + configs)
        #expect(beta.status == 0)
        #expect(beta.stdout.contains("configs: default/reviews rule beta-users"))
        let mix = try await MeshsimRunner.run(["load", server.url, "--requests", "1000", "--concurrency", "4", "--mix", MeshsimRunner.scenario("load-mix.yaml"), "--exact", "--check", "--quiet"])
        #expect(mix.status == 0)
        #expect(mix.stdout.contains("split of class beta"))
        #expect(mix.stdout.contains("split of class plain"))
    }

    @Test func progressLinesArePlainWithoutATerminal() async throws {
        let server = try FixtureServer(["pattern", "20"])
        defer { server.stop() }
        let output = try await MeshsimRunner.run(["load", server.url, "--duration", "1s", "--rps", "50", "--interval", "250ms"])
        #expect(output.status == 0)
        let progress = output.stdout.split(separator: "\n").filter { $0.hasPrefix("[") }
        #expect(progress.count >= 2)
        #expect(!output.stdout.contains("\r"))
        #expect(output.stdout.contains("open loop at 50.0 req/s"))
    }

    /// On a terminal (a pseudo-terminal from script(1)) progress is one line redrawn with \r.
    @Test func progressRedrawsOnATerminal() async throws {
        let server = try FixtureServer(["pattern", "20"])
        defer { server.stop() }
        let command = "\(MeshsimRunner.binary.path) load \(server.url) --duration 1s --rps 50 --interval 250ms"
        // stdin an open pipe, as a terminal would be: script(1) forwards it to the command.
        let result = try await ChildProcess.run("/usr/bin/script", ["-qec", command, "/dev/null"], input: .openPipe, timeout: .seconds(60))
        let text = result.stdout
        #expect(result.status == 0)
        #expect(text.components(separatedBy: "\r\u{1B}[K[").count >= 3)
        #expect(text.contains("verdict") == false)
        #expect(text.contains("open loop at 50.0 req/s"))
    }

    @Test func serverClosingMidResponseIsCounted() async throws {
        let server = try FixtureServer(["close-mid"])
        defer { server.stop() }
        let output = try await MeshsimRunner.run(["load", server.url, "--requests", "10", "--concurrency", "1", "--quiet"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("errors     10 (closed 10)"))
    }

    @Test func refusedConnectionIsOneLine() async throws {
        // A port that was just free: bind a listener, note the port, close it.
        let server = try FixtureServer(["pattern", "20"])
        let port = server.port
        server.stop()
        let output = try await MeshsimRunner.run(["load", "http://127.0.0.1:\(port)/", "--requests", "5"])
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("meshsim load: cannot connect to 127.0.0.1:\(port)"))
        #expect(output.stderr.contains("refused"))
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test(arguments: [
        (["--expect", "v1=95,v2=15"], "meshsim load: --expect: shares sum to 110; they must sum to 100 (percent) or 1 (fractions)"),
        (["--expect", "v1:95"], "meshsim load: --expect: \"v1:95\" is not SUBSET=SHARE (e.g. --expect v1=95,v2=5)"),
        (["--mix", "/nonexistent/mix.yaml"], "meshsim load: /nonexistent/mix.yaml: cannot read the mix file"),
        (["--http2", "--streams", "0"], "meshsim load: --streams must be between 1 and 1000"),
        (["--http2", "--concurrency", "30", "--connections", "2", "--streams", "10"], "meshsim load: --concurrency 30 exceeds --connections 2 × --streams 10"),
        (["--rps", "10", "--concurrency", "2"], "meshsim load: give --concurrency (closed loop) or --rps (open loop), not both"),
        (["--duration", "soon"], "meshsim load: --duration: invalid duration \"soon\" (e.g. 10s, 500ms, 1m)"),
        (["--concurrency", "8", "--connections", "2"], "meshsim load: --concurrency 8 exceeds --connections 2: HTTP/1.1 carries one request at a time per connection"),
        (["-H", "broken"], "meshsim load: header \"broken\" is not NAME: VALUE"),
        (["--expect", "v1=100", "-f", "configs/reviews"], "meshsim load: give --expect or -f, not both: -f derives the expected shares from the configs"),
        (["--check"], "meshsim load: --check has nothing to check: give --expect, -f CONFIGS, or expect in the --mix file"),
    ])
    func badInputIsOneLineAndExitsTwo(arguments: [String], message: String) async throws {
        let output = try await MeshsimRunner.run(["load", "http://127.0.0.1:9/", "--requests", "1"] + arguments)
        #expect(output.status == 2)
        #expect(output.stderr == message + "\n")
    }

    @Test func badURLIsOneLine() async throws {
        let output = try await MeshsimRunner.run(["load", "https://example.com/"])
        #expect(output.status == 2)
        #expect(output.stderr == "meshsim load: https://example.com/: https is not supported; meshsim load speaks plain HTTP (use http://)\n")
    }
}
