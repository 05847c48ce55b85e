import Foundation
import MeshConfig
import MeshProxy
import Testing

/// curl and wrk against a live proxy.
@Suite struct RealClientTests {
    /// Runs a tool with a bounded wait; returns status and standard output.
    static func run(_ tool: String, _ arguments: [String], timeout: TimeInterval = 30) async throws -> (status: Int32, output: String) {
        try await onOwnThread { try runBlocking(tool, arguments, timeout: timeout) }
    }

    static func runBlocking(_ tool: String, _ arguments: [String], timeout: TimeInterval) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = LockedBox(Data())
        let done = DispatchSemaphore(value: 0)
        Thread {
            data.set(FileDescriptorReader.readToEnd(out.fileHandleForReading))
            done.signal()
        }.start()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = done.wait(timeout: .now() + 5)
        }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data.get(), as: UTF8.self))
    }

    @Test func curlWithHostHeaderAndThroughTheProxyWithDashX() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("header-routing")]) { mesh in
            let direct = try await Self.run("curl", ["-s", "-i", "-H", "Host: reviews", "-H", "x-user-group: beta", "http://127.0.0.1:\(mesh.port)/"])
            #expect(direct.status == 0)
            #expect(direct.output.hasPrefix("HTTP/1.1 200 OK"))
            #expect(direct.output.contains("x-meshsim-route: default/reviews/beta-users"))
            #expect(direct.output.contains("x-meshsim-version: v2"))

            let proxied = try await Self.run("curl", ["-s", "-i", "-x", "http://127.0.0.1:\(mesh.port)", "-H", "x-user-group: beta", "http://reviews/"])
            #expect(proxied.status == 0)
            #expect(proxied.output.hasPrefix("HTTP/1.1 200 OK"))
            #expect(proxied.output.contains("x-meshsim-destination: reviews.default.svc.cluster.local|v2"))
        }
    }

    @Test func wrkBurstOnAHealthyConfigGetsNoErrors() async throws {
        try await TestMesh.with(
            files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/25-canary-25.yaml")],
            configuration: TestMesh.configuration(workers: 2)
        ) { mesh in
            let result = try await Self.run("wrk", ["-t", "1", "-c", "16", "-d", "2s", "-H", "Host: reviews", "http://127.0.0.1:\(mesh.port)/"], timeout: 60)
            #expect(result.status == 0)
            #expect(!result.output.contains("Non-2xx"), "\(result.output)")
            #expect(!result.output.contains("Socket errors"), "\(result.output)")
            let stats = await mesh.proxy.collectStats()
            let completed = stats.requestCount(cluster: "outbound|9080|v1|reviews.default.svc.cluster.local", responseCode: 200)
                + stats.requestCount(cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", responseCode: 200)
            #expect(completed > 100)
            #expect(stats.workers == 2)
        }
    }
}

final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ newValue: Value) { lock.lock(); value = newValue; lock.unlock() }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
}
