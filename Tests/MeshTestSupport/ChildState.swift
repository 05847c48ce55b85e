import Foundation
import MeshConfig

#if canImport(Glibc)
import Glibc
#endif

/// What the child's threads learn (output, exit) and its waiters read, under one condition.
/// Every change bumps `generation` and wakes all waiters.
final class ChildState: @unchecked Sendable {
    private let condition = NSCondition()
    private var standardOutput: [UInt8] = []
    private var standardError: [UInt8] = []
    private var termination: ChildProcess.Termination?
    private var outputFinished = false
    private var abandoned = false
    private var generation = 0

    struct Snapshot {
        var standardOutput: [UInt8]
        var standardError: [UInt8]
        var termination: ChildProcess.Termination?
        var outputFinished: Bool
    }

    var snapshot: Snapshot {
        locked {
            Snapshot(
                standardOutput: standardOutput, standardError: standardError, termination: termination,
                outputFinished: outputFinished)
        }
    }

    var currentTermination: ChildProcess.Termination? { locked { termination } }
    var standardOutputBytes: [UInt8] { locked { standardOutput } }
    var standardErrorBytes: [UInt8] { locked { standardError } }
    var isOutputFinished: Bool { locked { outputFinished } }
    var isAbandoned: Bool { locked { abandoned } }

    func append(_ bytes: some Collection<UInt8>, toError: Bool) {
        change {
            if toError { standardError.append(contentsOf: bytes) } else { standardOutput.append(contentsOf: bytes) }
        }
    }

    func exited(_ how: ChildProcess.Termination) { change { termination = how } }
    func finishOutput() { change { outputFinished = true } }
    /// Tells the output thread to stop waiting for an end of file that may never come.
    func abandonOutput() { change { abandoned = true } }

    /// Evaluates `condition` (outside the lock) after every change, and at least every 50 ms
    /// for conditions that also look elsewhere, until it holds or `deadline` passes.
    func wait(until deadline: ContinuousClock.Instant, _ isSatisfied: () -> Bool) -> Bool {
        while true {
            let seen = locked { generation }
            if isSatisfied() { return true }
            let now = ContinuousClock.now
            if now >= deadline { return false }
            let slice = min(deadline - now, .milliseconds(50))
            condition.lock()
            if generation == seen { _ = self.condition.wait(until: Date().addingTimeInterval(slice.seconds)) }
            condition.unlock()
        }
    }

    private func change(_ body: () -> Void) {
        condition.lock()
        body()
        generation += 1
        condition.broadcast()
        condition.unlock()
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The threads that serve one child: one moves bytes through its pipes, one reaps it.
enum ChildThreads {
    /// Blocks in `waitpid` for this child only (never -1, which would steal other code's children).
    static func startReaper(pid: pid_t, state: ChildState) {
        Thread {
            var status: Int32 = 0
            while true {
                if waitpid(pid, &status, 0) == pid {
                    state.exited(decode(status))
                    return
                }
                if errno != EINTR {
                    state.exited(.unknown)  // someone else reaped it (ECHILD)
                    return
                }
            }
        }.start()
    }

    /// The `WIFEXITED`/`WTERMSIG` macros, which Swift does not import.
    static func decode(_ status: Int32) -> ChildProcess.Termination {
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        if signal != 0x7f { return .signalled(signal) }
        return .unknown  // stopped, which waitpid without WUNTRACED does not report
    }

    /// Reads stdout and stderr until end of file and writes `input` to stdin, all with poll(2)
    /// on one thread, so a child blocked on a full pipe can never deadlock against us.
    /// The thread owns the descriptors and closes each when done with it.
    /// `stdin` is given only with bytes to write; it is closed once they are written.
    static func startPump(stdin: Int32?, input: [UInt8], stdout: Int32?, stderr: Int32?, state: ChildState) {
        guard stdin != nil || stdout != nil || stderr != nil else {
            state.finishOutput()
            return
        }
        Thread {
            var pump = Pump(stdin: stdin, input: input, stdout: stdout, stderr: stderr, state: state)
            pump.run()
        }.start()
    }
}

private struct Pump {
    var stdin: Int32?
    let input: [UInt8]
    var written = 0
    var stdout: Int32?
    var stderr: Int32?
    let state: ChildState

    init(stdin: Int32?, input: [UInt8], stdout: Int32?, stderr: Int32?, state: ChildState) {
        self.stdin = stdin
        self.input = input
        self.stdout = stdout
        self.stderr = stderr
        self.state = state
    }

    mutating func run() {
        // A write to a pipe whose reader has gone raises SIGPIPE, which would kill the test
        // process; blocked on this thread, the write fails with EPIPE instead.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        if let stdin { _ = fcntl(stdin, F_SETFL, fcntl(stdin, F_GETFL) | O_NONBLOCK) }

        while stdin != nil || stdout != nil || stderr != nil {
            if state.isAbandoned { break }
            var fds: [pollfd] = []
            if let stdout { fds.append(pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)) }
            if let stderr { fds.append(pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)) }
            if let stdin { fds.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
            // A timeout so that abandonment is noticed even while nothing arrives.
            let ready = poll(&fds, nfds_t(fds.count), 100)
            if ready < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdout { stdout = readChunk(entry.fd, toError: false) }
                else if entry.fd == stderr { stderr = readChunk(entry.fd, toError: true) }
                else if entry.fd == stdin { stdin = writeChunk(entry.fd) }
            }
        }
        for fd in [stdin, stdout, stderr].compactMap({ $0 }) { close(fd) }
        // Consume a SIGPIPE our write may have left pending on this thread.
        var noWait = timespec()
        _ = sigtimedwait(&pipeSignal, nil, &noWait)
        state.finishOutput()
    }

    /// Returns the descriptor while it stays open, nil once it hit end of file (and was closed).
    private func readChunk(_ fd: Int32, toError: Bool) -> Int32? {
        // Poll said readable (or hung up), so this read returns at once; EINTR is retried in there.
        let chunk = FileDescriptorReader.readAvailable(FileHandle(fileDescriptor: fd, closeOnDealloc: false))
        if chunk.isEmpty {
            close(fd)
            return nil
        }
        state.append(chunk, toError: toError)
        return fd
    }

    private mutating func writeChunk(_ fd: Int32) -> Int32? {
        let count = input[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if count > 0 { written += count }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return fd }
        // Done, or the child closed its end (EPIPE): it gets end of file / no more input.
        if count < 0 || written == input.count {
            close(fd)
            return nil
        }
        return fd
    }
}
