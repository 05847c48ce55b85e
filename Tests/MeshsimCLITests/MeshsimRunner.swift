import Foundation
import MeshConfig

/// Runs the built `meshsim` binary as a user would, with a bounded wait.
struct MeshsimRunner {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// `.build/<config>/meshsim`, next to this test bundle.
    static let binary: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("meshsim")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("meshsim")
    }()

    /// The repository root, for configs/ paths.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func configs(_ relative: String) -> String {
        repositoryRoot.appendingPathComponent("configs").appendingPathComponent(relative).path
    }

    /// A file under scenarios/ (route test cases, load mixes: inputs that are not Istio resources).
    static func scenario(_ relative: String) -> String {
        repositoryRoot.appendingPathComponent("scenarios").appendingPathComponent(relative).path
    }

    /// Runs meshsim with `arguments`, feeding `stdin`, killing it if it outlives `timeout` seconds.
    /// The waiting happens on a thread of its own: blocking one of the few threads of Swift's
    /// cooperative pool (two on this machine) would stall every other test running meanwhile.
    static func run(_ arguments: [String], stdin: String? = nil, timeout: TimeInterval = 60) async throws -> Output {
        try await onOwnThread { try runBlocking(arguments, stdin: stdin, timeout: timeout) }
    }

    private static func runBlocking(_ arguments: [String], stdin: String?, timeout: TimeInterval) throws -> Output {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        let outData = LockedData(), errData = LockedData()
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(FileDescriptorReader.readToEnd(pipe.fileHandleForReading))
                group.leave()
            }
        }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = group.wait(timeout: .now() + 5)
        }
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: outData.get(), as: UTF8.self),
            stderr: String(decoding: errData.get(), as: UTF8.self))
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Runs blocking work (waiting for a process, curl, a socket) on a thread of its own, never on
/// Swift's cooperative pool (two threads on this machine), which the other tests' awaits need.
func onOwnThread<T>(_ work: @escaping () throws -> T) async throws -> T {
    let box = BlockingWork(work)
    return try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try box.work() }) }.start()
    }
}

/// Carries a closure to the thread that runs it; only that thread calls it.
private struct BlockingWork<T>: @unchecked Sendable {
    let work: () throws -> T
    init(_ work: @escaping () throws -> T) { self.work = work }
}
