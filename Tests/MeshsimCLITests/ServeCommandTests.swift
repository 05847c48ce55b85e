import Foundation
import MeshTestSupport
import Testing

/// `meshsim serve` as a user runs it: a process that starts pods and proxy, answers curl, and
/// stops on SIGTERM.
@Suite struct ServeCommandTests {
    /// A running `meshsim serve` whose output is collected while it runs.
    final class RunningServe: RunningMeshsim, @unchecked Sendable {
        init(_ arguments: [String]) throws { try super.init(subcommand: "serve", arguments) }
    }

    /// curl's stdout and stderr; blocking, so call it on a thread of your own (`onOwnThread`).
    static func curl(_ arguments: [String]) throws -> String {
        try ChildProcess.runBlocking(
            "/usr/bin/curl", ["-sS", "-i", "--max-time", "20"] + arguments, error: .mergedIntoOutput, timeout: .seconds(30)
        ).stdout
    }

    static func curl(_ arguments: [String]) async throws -> String {
        try await ChildProcess.run(
            "/usr/bin/curl", ["-sS", "-i", "--max-time", "20"] + arguments, error: .mergedIntoOutput, timeout: .seconds(30)
        ).stdout
    }

    @Test func servesCurlAndStopsOnSIGTERM() async throws {
        let serve = try RunningServe([
            "-f", "configs/reviews", "-f", "configs/header-routing", "--listen", "127.0.0.1:0", "--workers", "1",
            "--split", "exact", "--access-log", "-",
        ])
        defer { _ = serve.stop() }
        let port = try #require(await serve.listeningPort(), "no listening line in: \(serve.text)")
        #expect(serve.text.contains("routing 1 host (reviews.default.svc.cluster.local), 2 clusters, 4 pods"))

        let beta = try await Self.curl(["-H", "Host: reviews", "-H", "x-user-group: beta", "http://127.0.0.1:\(port)/"])
        #expect(beta.hasPrefix("HTTP/1.1 200 OK"))
        #expect(beta.contains("x-meshsim-route: default/reviews/beta-users"))
        let proxied = try await Self.curl(["-x", "http://127.0.0.1:\(port)", "http://reviews/"])
        #expect(proxied.contains("x-meshsim-route: default/reviews/canary"))
        // The access log on standard output has a line per request.
        #expect(await serve.wait { serve.text.components(separatedBy: "\"GET / HTTP/1.1\" 200 - ").count == 3 })

        #expect(await serve.stop())
        #expect(serve.child.termination == .exited(0))
        #expect(serve.text.contains("meshsim serve stopped on signal 15: 2 requests"))
    }

    @Test func logsTheOutlierEjectionOfConfigsOutlierDetection() async throws {
        let serve = try RunningServe(["-f", "configs/outlier-detection", "--listen", "127.0.0.1:0", "--workers", "1", "--admin", "off"])
        defer { _ = serve.stop() }
        let port = try #require(await serve.listeningPort(), "no listening line in: \(serve.text)")
        var codes: [String] = []
        // One curl, one kept-alive connection, 40 requests a batch, until v2's pod is ejected.
        for _ in 0..<5 where !serve.text.contains("outlier detection: ejected") {
            let urls = Array(repeating: ["-o", "/dev/null", "http://127.0.0.1:\(port)/"], count: 40).flatMap { $0 }
            let output = try await Self.curl(["-H", "Host: ratings", "-w", "%{http_code}\n"] + urls)
            codes += output.split(separator: "\n").map(String.init)
        }
        #expect(await serve.wait { serve.text.contains("meshsim serve: info: outlier detection: ejected ratings-v2-0 (") })
        #expect(serve.text.contains("from outbound|9080||ratings.default.svc.cluster.local on worker 0: consecutive_5xx; ejection 1, for 30000ms"))
        // The VirtualService retries a 503 on another pod: every request is answered from a v1 pod.
        #expect(!codes.isEmpty && codes.allSatisfy { $0 == "200" }, "\(codes)")
    }

    /// The user's check with two workers (serve's default on two cores): five 503s in a row from
    /// the only pod of `consecutive5xxErrors: 5`, each curl its own connection (so the requests
    /// land on both workers), eject it; the sixth request gets Envoy's 503 UH.
    @Test func fiveErrorsOverTwoWorkersEjectThePod() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ratings.yaml")
        try FixtureYAML.documents(
            FixtureYAML.service("ratings"), FixtureYAML.deployment(app: "ratings", version: "v1"),
            FixtureYAML.destinationRule("ratings", spec: "trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5, maxEjectionPercent: 100}}"),
            FixtureYAML.virtualService("ratings", http: "- route: [{destination: {host: ratings}}]\n  retries: {attempts: 0}")
        ).write(to: file, atomically: true, encoding: .utf8)
        let serve = try RunningServe(["-f", file.path, "--listen", "127.0.0.1:0", "--workers", "2", "--admin", "off"])
        defer { _ = serve.stop() }
        let port = try #require(await serve.listeningPort(), "no listening line in: \(serve.text)")
        for sent in 1...5 {
            let answer = try await Self.curl(["-H", "Host: ratings", "http://127.0.0.1:\(port)/status/503"])
            #expect(answer.hasPrefix("HTTP/1.1 503") && answer.contains("x-meshsim-pod: ratings-v1-0"), "request \(sent): \(answer)")
        }
        #expect(await serve.wait { serve.text.contains("outlier detection: ejected ratings-v1-0 (") })
        let refused = try await Self.curl(["-H", "Host: ratings", "http://127.0.0.1:\(port)/"])
        #expect(refused.hasPrefix("HTTP/1.1 503") && refused.hasSuffix("no healthy upstream"), "\(refused)")
        #expect(serve.text.components(separatedBy: "outlier detection: ejected").count == 2, "\(serve.text)")
    }

    /// `curl -0` gets Istio's default 426 Upgrade Required; with --http10 it is served.
    @Test func http10IsRefusedUnlessAsked() async throws {
        for accepting in [false, true] {
            let serve = try RunningServe(
                ["-f", "configs/reviews", "--listen", "127.0.0.1:0", "--workers", "1"] + (accepting ? ["--http10"] : []))
            defer { _ = serve.stop() }
            let port = try #require(await serve.listeningPort(), "no listening line in: \(serve.text)")
            let answer = try await Self.curl(["-0", "-H", "Host: reviews", "http://127.0.0.1:\(port)/"])
            if accepting {
                #expect(answer.hasPrefix("HTTP/1.0 200") || answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
            } else {
                #expect(answer.hasPrefix("HTTP/1.1 426"), "\(answer)")
                #expect(answer.hasSuffix("Upgrade Required"), "\(answer)")
            }
        }
    }

    /// The pod sees curl's x-forwarded-for as sent; --use-remote-address appends the peer.
    @Test func useRemoteAddressAppendsToForwardedFor() async throws {
        for appending in [false, true] {
            let serve = try RunningServe(
                ["-f", "configs/reviews", "--listen", "127.0.0.1:0", "--workers", "1"] + (appending ? ["--use-remote-address"] : []))
            defer { _ = serve.stop() }
            let port = try #require(await serve.listeningPort(), "no listening line in: \(serve.text)")
            let answer = try await Self.curl(["-H", "Host: reviews", "-H", "X-Forwarded-For: 198.51.100.4", "http://127.0.0.1:\(port)/echo"])
            let expected = appending ? "198.51.100.4, 127.0.0.1" : "198.51.100.4"
            #expect(answer.contains("\"x-forwarded-for\":\"\(expected)\""), "\(answer)")
        }
    }

    @Test func noDebugHeadersLeavesThemOut() async throws {
        let serve = try RunningServe(["-f", "configs/reviews", "--listen", "127.0.0.1:0", "--workers", "1", "--no-debug-headers"])
        defer { _ = serve.stop() }
        let port = try #require(await serve.listeningPort(), "no listening line in: \(serve.text)")
        let answer = try await Self.curl(["-H", "Host: reviews", "http://127.0.0.1:\(port)/"])
        #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
        #expect(!answer.contains("x-meshsim-route"))
        #expect(!answer.contains("x-meshsim-destination"))
    }

    @Test func invalidConfigExitsOneWithFileAndLineAndStartsNothing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml")
        try """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews}
            spec:
              hosts: [reviews]
              http:
              - route: [{destination: {host: reviews}, weight: many}]
            """.write(to: file, atomically: true, encoding: .utf8)
        let output = try await MeshsimRunner.run(["serve", "-f", file.path, "--listen", "127.0.0.1:0"], timeout: 30)
        #expect(output.status == 1)
        #expect(output.stderr.contains("bad.yaml:7"))
        #expect(!output.stdout.contains("listening"))
    }
}
