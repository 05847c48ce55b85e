import Foundation
import MeshTestSupport

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

    /// Runs meshsim with `arguments` from the repository root, feeding `stdin`, terminating it
    /// if it outlives `timeout` seconds.
    static func run(_ arguments: [String], stdin: String? = nil, timeout: TimeInterval = 60) async throws -> Output {
        let result = try await ChildProcess.run(
            binary.path, arguments, workingDirectory: repositoryRoot.path, input: stdin.map { .bytes(Array($0.utf8)) } ?? .null,
            timeout: .milliseconds(Int(timeout * 1000)))
        return Output(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }
}
