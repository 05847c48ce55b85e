import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process for tests, started with `posix_spawnp` rather than Foundation's `Process`
/// (whose launch crashed the test process when many tests started children at once on Swift
/// 6.3.1, and whose pipe reads trap on EINTR).
///
/// Its output is collected by a thread of its own while it runs and it is reaped by another,
/// so waiting is always bounded by a deadline. A child still running when the object goes
/// away is killed.
public final class ChildProcess: @unchecked Sendable {
    public enum Input: Sendable {
        /// /dev/null: the child reads end of file at once.
        case null
        /// These bytes, then end of file.
        case bytes([UInt8])
        /// A pipe left open until `closeStandardInput()` (a child that exits when its stdin closes).
        case openPipe
    }

    public enum Output: Sendable {
        case capture
        case discard
    }

    public enum ErrorOutput: Sendable {
        case capture
        case discard
        /// Into standard output's pipe, interleaved as a terminal would show them.
        case mergedIntoOutput
    }

    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        /// Reaped by other code, so its status is unknown.
        case unknown

        /// The exit status a shell would report: the code, or 128 + the signal number.
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): 128 + signal
            case .unknown: -1
            }
        }

        public var description: String {
            switch self {
            case .exited(let code): "exited \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            case .unknown: "reaped elsewhere"
            }
        }
    }

    public struct Result: Sendable, CustomStringConvertible {
        /// Nil only when the child could not be reaped even after SIGKILL.
        public var termination: Termination?
        public var standardOutput: [UInt8]
        public var standardError: [UInt8]
        /// The deadline passed first: the child was terminated and its output may be cut short.
        public var timedOut: Bool

        public var status: Int32 { termination?.status ?? -1 }
        /// Lossy UTF-8 (a response body may not be text).
        public var stdout: String { String(decoding: standardOutput, as: UTF8.self) }
        public var stderr: String { String(decoding: standardError, as: UTF8.self) }

        /// Short, for failure messages: the streams themselves can be megabytes.
        public var description: String {
            let ended = termination.map { "\($0)" } ?? "not reaped"
            let deadline = timedOut ? " after the deadline" : ""
            return "\(ended)\(deadline), \(standardOutput.count) bytes of stdout, \(standardError.count) of stderr"
        }
    }

    public let pid: pid_t
    public let executable: String
    private let state = ChildState()
    private let stdinLock = NSLock()
    private var stdinPipe: Int32?

    /// Starts `executable` (found on PATH unless it contains a slash) with `arguments`, in
    /// `workingDirectory`, with `environment` (this process's when nil).
    public init(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        workingDirectory: String? = nil, input: Input = .null, output: Output = .capture, error: ErrorOutput = .capture
    ) throws {
        let child = try Spawner.spawn(
            executable: executable, arguments: arguments, environment: environment,
            workingDirectory: workingDirectory, input: input, output: output, error: error)
        self.pid = child.pid
        self.executable = executable
        var bytesToWrite: [UInt8] = []
        var pumpStdin: Int32? = nil
        switch input {
        case .null:
            break
        case .bytes(let bytes):
            if bytes.isEmpty {
                child.standardInput.map { _ = close($0) }
            } else {
                bytesToWrite = bytes
                pumpStdin = child.standardInput
            }
        case .openPipe:
            stdinPipe = child.standardInput
        }
        ChildThreads.startReaper(pid: child.pid, state: state)
        ChildThreads.startPump(
            stdin: pumpStdin, input: bytesToWrite, stdout: child.standardOutput, stderr: child.standardError, state: state)
    }

    deinit {
        if state.currentTermination == nil { kill(-pid, SIGKILL) }
        closeStandardInput()
        state.abandonOutput()
    }

    // MARK: State

    public var isRunning: Bool { state.currentTermination == nil }
    public var termination: Termination? { state.currentTermination }

    /// Standard output so far (lossy UTF-8).
    public var standardOutput: String { String(decoding: state.standardOutputBytes, as: UTF8.self) }
    /// Standard error so far (lossy UTF-8).
    public var standardError: String { String(decoding: state.standardErrorBytes, as: UTF8.self) }
    /// The complete lines of standard output so far (without their newlines).
    public var outputLines: [Substring] {
        let text = standardOutput
        guard let lastNewline = text.lastIndex(of: "\n") else { return [] }
        return text[..<lastNewline].split(separator: "\n", omittingEmptySubsequences: false)
    }

    // MARK: Control

    /// Sends `signal` to the child itself (as Ctrl-C would send SIGINT), unless it has exited.
    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Closes the pipe of an `.openPipe` standard input: the child reads end of file.
    public func closeStandardInput() {
        stdinLock.lock()
        defer { stdinLock.unlock() }
        if let fd = stdinPipe { close(fd) }
        stdinPipe = nil
    }

    /// SIGTERM to the child's process group, SIGKILL if it has not exited after `grace`;
    /// returns how it ended (nil if even SIGKILL left it unreaped after 10 s).
    @discardableResult
    public func terminate(grace: Duration = .seconds(5)) -> Termination? {
        if let ended = state.currentTermination, state.isOutputFinished { return ended }
        signalGroup(SIGTERM)
        if let ended = wait(timeout: grace) { return ended }
        signalGroup(SIGKILL)
        return wait(timeout: .seconds(10))
    }

    /// The group holds the children the child started (a shell's pipeline); killing only the
    /// child would leave them holding our pipes open.
    private func signalGroup(_ signal: Int32) {
        if kill(-pid, signal) != 0 && isRunning { kill(pid, signal) }
    }

    // MARK: Waiting (blocking; call from a thread of your own, see `onOwnThread`)

    /// Waits until the child exits or `timeout` passes; nil when it is still running.
    public func wait(timeout: Duration) -> Termination? {
        _ = state.wait(until: .now + timeout) { state.currentTermination != nil }
        return state.currentTermination
    }

    /// Waits until `condition` holds, re-evaluating it whenever output arrives or the child
    /// exits (and at least every 50 ms); false if `timeout` passed first.
    public func waitUntil(timeout: Duration, _ condition: () -> Bool) -> Bool {
        state.wait(until: .now + timeout, condition)
    }

    /// The first complete line of standard output that satisfies `predicate`, waiting for it
    /// until `timeout`; nil when the deadline passes or the child exits without printing one.
    public func waitForLine(timeout: Duration, where predicate: (Substring) -> Bool) -> String? {
        var found: String? = nil
        _ = state.wait(until: .now + timeout) {
            let finished = state.isOutputFinished
            if let line = outputLines.first(where: predicate) {
                found = String(line)
                return true
            }
            return finished
        }
        return found
    }

    /// Waits for exit and for end of file on the captured pipes until `timeout`; past it the
    /// child is terminated (SIGTERM, then SIGKILL) and what it printed so far is returned.
    public func result(timeout: Duration) -> Result {
        let deadline = ContinuousClock.now + timeout
        let finished = state.wait(until: deadline) { state.currentTermination != nil && state.isOutputFinished }
        if !finished {
            terminate()
            // Output stays open only while something else holds the pipe; give it a moment.
            if !state.wait(until: .now + .seconds(5), { state.isOutputFinished }) { state.abandonOutput() }
        }
        let final = state.snapshot
        return Result(
            termination: final.termination, standardOutput: final.standardOutput, standardError: final.standardError,
            timedOut: !finished)
    }

    // MARK: Waiting (async: the blocking waits above, each on a thread of its own)

    public func wait(timeout: Duration) async -> Termination? {
        await blockingOnOwnThread { self.wait(timeout: timeout) }
    }

    public func waitUntil(timeout: Duration, _ condition: @escaping @Sendable () -> Bool) async -> Bool {
        await blockingOnOwnThread { self.waitUntil(timeout: timeout, condition) }
    }

    public func waitForLine(timeout: Duration, where predicate: @escaping @Sendable (Substring) -> Bool) async -> String? {
        await blockingOnOwnThread { self.waitForLine(timeout: timeout, where: predicate) }
    }

    public func result(timeout: Duration) async -> Result {
        await blockingOnOwnThread { self.result(timeout: timeout) }
    }

    @discardableResult
    public func terminate(grace: Duration = .seconds(5)) async -> Termination? {
        await blockingOnOwnThread { self.terminate(grace: grace) }
    }

    // MARK: Run to completion

    /// Runs a command to completion, bounded by `timeout` (then terminated: `timedOut`).
    public static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        workingDirectory: String? = nil, input: Input = .null, output: Output = .capture, error: ErrorOutput = .capture,
        timeout: Duration = .seconds(60)
    ) async throws -> Result {
        let child = try ChildProcess(
            executable, arguments, environment: environment, workingDirectory: workingDirectory,
            input: input, output: output, error: error)
        return await child.result(timeout: timeout)
    }

    /// `run` for code already on a thread of its own.
    public static func runBlocking(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        workingDirectory: String? = nil, input: Input = .null, output: Output = .capture, error: ErrorOutput = .capture,
        timeout: Duration = .seconds(60)
    ) throws -> Result {
        let child = try ChildProcess(
            executable, arguments, environment: environment, workingDirectory: workingDirectory,
            input: input, output: output, error: error)
        return child.result(timeout: timeout)
    }
}

public enum ChildProcessError: Error, CustomStringConvertible {
    case cannotStart(String, String)
    case system(String, Int32)
    case unsupported(String)

    public var description: String {
        switch self {
        case .cannotStart(let executable, let reason): "cannot start \(executable): \(reason) (is it installed and on PATH?)"
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .unsupported(let what): what
        }
    }
}
