import Foundation
import MeshConfig

/// A long-running meshsim subcommand (`serve`, `backend`) whose output is collected while it runs.
class RunningMeshsim: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var output = Data()

    init(subcommand: String, _ arguments: [String]) throws {
        process.executableURL = MeshsimRunner.binary
        process.arguments = [subcommand] + arguments
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
