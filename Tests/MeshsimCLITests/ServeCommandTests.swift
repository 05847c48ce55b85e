import Foundation
import MeshConfig
import Testing

/// `meshsim serve` as a user runs it: a process that starts pods and proxy, answers curl, and
/// stops on SIGTERM.
@Suite struct ServeCommandTests {
    /// A running `meshsim serve` whose output is collected while it runs.
    final class RunningServe: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var output = Data()

        init(_ arguments: [String]) throws {
            process.executableURL = MeshsimRunner.binary
            process.arguments = ["serve"] + arguments
            process.currentDirectoryURL = MeshsimRunner.repositoryRoot
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            process.standardInput = FileHandle.nullDevice
            // A reader thread rather than a readabilityHandler: libdispatch's event sources under
            // many concurrent processes crashed the test process (Swift 6.3.1 on Linux).
            let handle = pipe.fileHandleForReading
            Thread { [self] in
                while true {
                    let chunk = FileDescriptorReader.readAvailable(handle)
                    if chunk.isEmpty { return }
                    lock.lock()
                    output.append(chunk)
                    lock.unlock()
                }
            }.start()
            try process.run()
        }

        var text: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: output, as: UTF8.self)
        }

        func wait(seconds: Double = 30, until condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if condition() { return true }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return condition()
        }

        func listeningPort() -> Int? {
            _ = wait { text.contains("listening on http://") || !process.isRunning }
            guard let match = text.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/) else { return nil }
            return Int(match.1)
        }

        /// SIGTERM, a bounded wait, SIGKILL if it does not go; true when it exited by itself.
        func stop() -> Bool {
            if process.isRunning { process.terminate() }
            let exited = wait(seconds: 20) { !process.isRunning }
            if !exited { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return exited
        }
    }

    static func curl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sS", "-i", "--max-time", "20"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = FileDescriptorReader.readToEnd(pipe.fileHandleForReading)
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func servesCurlAndStopsOnSIGTERM() async throws {
        let serve = try RunningServe([
            "-f", "configs/reviews", "-f", "configs/header-routing", "--listen", "127.0.0.1:0", "--workers", "1",
            "--split", "exact", "--access-log", "-",
        ])
        defer { _ = serve.stop() }
        let port = try #require(serve.listeningPort(), "no listening line in: \(serve.text)")
        #expect(serve.text.contains("routing 1 host (reviews.default.svc.cluster.local), 2 clusters, 4 pods"))

        let beta = try Self.curl(["-H", "Host: reviews", "-H", "x-user-group: beta", "http://127.0.0.1:\(port)/"])
        #expect(beta.hasPrefix("HTTP/1.1 200 OK"))
        #expect(beta.contains("x-meshsim-route: default/reviews/beta-users"))
        let proxied = try Self.curl(["-x", "http://127.0.0.1:\(port)", "http://reviews/"])
        #expect(proxied.contains("x-meshsim-route: default/reviews/canary"))
        // The access log on standard output has a line per request.
        #expect(serve.wait { serve.text.components(separatedBy: "\"GET / HTTP/1.1\" 200 - ").count == 3 })

        #expect(serve.stop())
        #expect(serve.process.terminationStatus == 0)
        #expect(serve.text.contains("meshsim serve stopped on signal 15: 2 requests"))
    }

    @Test func noDebugHeadersLeavesThemOut() async throws {
        let serve = try RunningServe(["-f", "configs/reviews", "--listen", "127.0.0.1:0", "--workers", "1", "--no-debug-headers"])
        defer { _ = serve.stop() }
        let port = try #require(serve.listeningPort(), "no listening line in: \(serve.text)")
        let answer = try Self.curl(["-H", "Host: reviews", "http://127.0.0.1:\(port)/"])
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
