import Foundation
import MeshTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A long-running meshsim subcommand (`serve`, `backend`) whose output (stdout and stderr,
/// interleaved) is collected while it runs.
class RunningMeshsim: @unchecked Sendable {
    let child: ChildProcess

    init(subcommand: String, _ arguments: [String]) throws {
        child = try ChildProcess(
            MeshsimRunner.binary.path, [subcommand] + arguments, workingDirectory: MeshsimRunner.repositoryRoot.path,
            error: .mergedIntoOutput)
    }

    var text: String { child.standardOutput }
    var isRunning: Bool { child.isRunning }

    /// Waits (blocking) until `condition` holds, re-checked as output arrives, for at most `seconds`.
    func wait(seconds: Double = 30, until condition: () -> Bool) -> Bool {
        child.waitUntil(timeout: .milliseconds(Int(seconds * 1000)), condition)
    }

    func wait(seconds: Double = 30, until condition: @escaping @Sendable () -> Bool) async -> Bool {
        await child.waitUntil(timeout: .milliseconds(Int(seconds * 1000)), condition)
    }

    /// The port of the "listening on http://127.0.0.1:PORT" line, waiting up to 30 s for it.
    func listeningPort() -> Int? {
        Self.port(in: child.waitForLine(timeout: .seconds(30)) { $0.contains("listening on http://") })
    }

    func listeningPort() async -> Int? {
        Self.port(in: await child.waitForLine(timeout: .seconds(30)) { $0.contains("listening on http://") })
    }

    private static func port(in line: String?) -> Int? {
        guard let match = line?.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/) else { return nil }
        return Int(match.1)
    }

    /// SIGTERM as a user's kill would send, 20 s to exit, then SIGKILL; true when it exited by itself.
    func stop() -> Bool {
        child.send(SIGTERM)
        let exited = child.wait(timeout: .seconds(20)) != nil
        if !exited { child.terminate(grace: .zero) }
        return exited
    }

    func stop() async -> Bool {
        child.send(SIGTERM)
        let exited = await child.wait(timeout: .seconds(20)) != nil
        if !exited { await child.terminate(grace: .zero) }
        return exited
    }
}
