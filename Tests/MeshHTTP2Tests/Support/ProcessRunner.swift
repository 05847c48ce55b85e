import Foundation

/// Runs an external program (curl, nghttp, h2load, nghttpd) with a deadline; output goes to
/// temporary files so a chatty program can never block on a full pipe.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
}

final class RunningProcess: @unchecked Sendable {
    let process: Process
    private let stdoutURL: URL
    private let stderrURL: URL

    init(_ executable: String, _ arguments: [String]) throws {
        let directory = FileManager.default.temporaryDirectory
        self.stdoutURL = directory.appendingPathComponent("meshhttp2-\(UUID().uuidString).out")
        self.stderrURL = directory.appendingPathComponent("meshhttp2-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: self.stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: self.stderrURL.path, contents: nil)
        self.process = Process()
        self.process.executableURL = URL(fileURLWithPath: try Self.locate(executable))
        self.process.arguments = arguments
        self.process.standardOutput = try FileHandle(forWritingTo: self.stdoutURL)
        self.process.standardError = try FileHandle(forWritingTo: self.stderrURL)
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
    }

    static func locate(_ name: String) throws -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestFailure("\(name) is not installed (scripts/install-deps.sh installs it)")
    }

    /// Waits for exit until `timeout`; on timeout the process is terminated, then killed.
    func wait(timeout: Duration) async -> ProcessResult {
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while self.process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                self.stop()
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        self.process.waitUntilExit()
        let out = Self.text(at: self.stdoutURL)
        let err = Self.text(at: self.stderrURL)
        try? FileManager.default.removeItem(at: self.stdoutURL)
        try? FileManager.default.removeItem(at: self.stderrURL)
        return ProcessResult(status: self.process.terminationStatus, stdout: out, stderr: err, timedOut: timedOut)
    }

    /// SIGTERM, then SIGKILL if it has not exited within a second.
    func stop() {
        guard self.process.isRunning else { return }
        self.process.terminate()
        let deadline = Date().addingTimeInterval(1)
        while self.process.isRunning && Date() < deadline { usleep(10_000) }
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
        self.process.waitUntilExit()
    }

    var stderrSoFar: String { Self.text(at: self.stderrURL) }

    /// Lossy: a response body on stdout may not be UTF-8.
    private static func text(at url: URL) -> String {
        guard let data = try? Data(contentsOf: url) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ProcessResult {
    let process = try RunningProcess(executable, arguments)
    return await process.wait(timeout: timeout)
}

/// A scratch directory removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("meshhttp2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { self.url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: self.url) }
}
