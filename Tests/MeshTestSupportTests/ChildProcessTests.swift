import Foundation
import MeshTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChildProcessTests {
    @Test func exitStatusAndSignalAreReported() async throws {
        let success = try await ChildProcess.run("true")
        #expect(success.termination == .exited(0))
        #expect(!success.timedOut)
        let failure = try await ChildProcess.run("sh", ["-c", "exit 3"])
        #expect(failure.termination == .exited(3))
        #expect(failure.status == 3)
        let killed = try await ChildProcess.run("sh", ["-c", "kill -TERM $$"])
        #expect(killed.termination == .signalled(SIGTERM))
        #expect(killed.status == 128 + SIGTERM)
    }

    @Test func missingExecutableIsAClearError() async throws {
        let error = await #expect(throws: ChildProcessError.self) {
            _ = try await ChildProcess.run("meshsim-no-such-tool-\(getpid())")
        }
        #expect(error.map { "\($0)" }?.contains("cannot start meshsim-no-such-tool") == true)
    }

    @Test func standardErrorIsSeparateUnlessMerged() async throws {
        let separate = try await ChildProcess.run("sh", ["-c", "echo out; echo err >&2; echo more"])
        #expect(separate.stdout == "out\nmore\n")
        #expect(separate.stderr == "err\n")
        let merged = try await ChildProcess.run("sh", ["-c", "echo out; echo err >&2; echo more"], error: .mergedIntoOutput)
        #expect(merged.stdout == "out\nerr\nmore\n")
        #expect(merged.stderr == "")
        let discarded = try await ChildProcess.run("sh", ["-c", "echo out; echo err >&2"], output: .discard, error: .discard)
        #expect(discarded.stdout == "" && discarded.stderr == "" && discarded.status == 0)
    }

    /// Far more than a pipe holds (64 KiB) on both streams, written one after the other: only
    /// reading both while the child runs lets it finish.
    @Test func megabytesOnBothStreamsDoNotDeadlock() async throws {
        let result = try await ChildProcess.run(
            "sh", ["-c", "head -c 3000000 /dev/zero; head -c 1500000 /dev/zero >&2; head -c 1000000 /dev/zero"])
        #expect(!result.timedOut)
        #expect(result.status == 0)
        #expect(result.standardOutput.count == 4_000_000)
        #expect(result.standardError.count == 1_500_000)
        #expect(result.standardOutput.allSatisfy { $0 == 0 })
    }

    /// Input larger than a pipe goes in while output comes out: cat only finishes if both move.
    @Test func largeInputIsWrittenWhileOutputIsRead() async throws {
        let input = (0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let result = try await ChildProcess.run("cat", input: .bytes(input))
        #expect(result.status == 0)
        #expect(result.standardOutput == input)
    }

    /// A child that exits without reading its input: the write fails with EPIPE instead of
    /// SIGPIPE killing the test process.
    @Test func inputToAChildThatDoesNotReadIsHarmless() async throws {
        let result = try await ChildProcess.run("true", input: .bytes(Array(repeating: 7, count: 1_000_000)))
        #expect(result.termination == .exited(0))
    }

    @Test func deadlineTerminatesTheChild() async throws {
        let result = try await ChildProcess.run("sleep", ["60"], timeout: .milliseconds(300))
        #expect(result.timedOut)
        #expect(result.termination == .signalled(SIGTERM))
    }

    /// The deadline kill reaches the children of a shell too (they share its process group),
    /// else the sleep would keep the output pipe open.
    @Test func deadlineTerminatesTheChildsChildren() async throws {
        let result = try await ChildProcess.run("sh", ["-c", "echo started; sleep 60; echo never"], timeout: .milliseconds(500))
        #expect(result.timedOut)
        #expect(result.stdout == "started\n")
        #expect(result.termination == .signalled(SIGTERM))
    }

    @Test func sigtermIgnoredEscalatesToSigkill() async throws {
        let child = try ChildProcess("sh", ["-c", "trap '' TERM; echo ready; sleep 60"])
        #expect(await child.waitForLine(timeout: .seconds(30)) { $0 == "ready" } == "ready")
        let ended = await child.terminate(grace: .milliseconds(300))
        #expect(ended == .signalled(SIGKILL))
        #expect(!child.isRunning)
    }

    @Test func longRunningChildIsWatchedLineByLine() async throws {
        let child = try ChildProcess("sh", ["-c", "echo starting; sleep 0.2; echo 'listening on port 4711'; exec sleep 60"])
        let line = await child.waitForLine(timeout: .seconds(30)) { $0.hasPrefix("listening on") }
        #expect(line == "listening on port 4711")
        #expect(child.outputLines == ["starting", "listening on port 4711"])
        #expect(child.isRunning)
        #expect(await child.terminate() == .signalled(SIGTERM))
        // A line that never comes: nil once the child has exited, not at the deadline.
        let quitter = try ChildProcess("sh", ["-c", "echo one; echo two"])
        #expect(await quitter.waitForLine(timeout: .seconds(30)) { $0 == "three" } == nil)
        #expect(await quitter.wait(timeout: .seconds(30)) == .exited(0))
    }

    @Test func waitUntilSeesOutputAndExit() async throws {
        let child = try ChildProcess("sh", ["-c", "echo a; sleep 0.1; echo b >&2; sleep 0.1; exit 4"])
        #expect(await child.waitUntil(timeout: .seconds(30)) { child.standardError.contains("b") })
        #expect(await child.waitUntil(timeout: .seconds(30)) { !child.isRunning })
        #expect(child.termination == .exited(4))
        #expect(child.standardOutput == "a\n")
        // A condition that never holds returns false at its deadline.
        #expect(await child.waitUntil(timeout: .milliseconds(100)) { child.standardOutput.contains("z") } == false)
    }

    @Test func openPipeInputEndsWhenClosed() async throws {
        let child = try ChildProcess("cat", input: .openPipe)
        #expect(await child.wait(timeout: .milliseconds(100)) == nil, "cat ended before its input did")
        child.closeStandardInput()
        #expect(await child.wait(timeout: .seconds(30)) == .exited(0))
    }

    @Test func workingDirectoryEnvironmentAndArgumentsArePassed() async throws {
        let result = try await ChildProcess.run(
            "sh", ["-c", "pwd; echo \"$GREETING\"; printf '[%s]' \"$@\"", "sh", "two words", "", "*"],
            environment: ["GREETING": "hello there", "PATH": "/usr/bin:/bin"], workingDirectory: "/tmp")
        #expect(result.stdout == "/tmp\nhello there\n[two words][][*]")
        // Without an environment the child gets this process's.
        let inherited = try await ChildProcess.run("sh", ["-c", "echo \"$HOME\""])
        #expect(inherited.stdout == (ProcessInfo.processInfo.environment["HOME"] ?? "") + "\n")
    }

    /// A descriptor this process opened without close-on-exec is not inherited either.
    @Test func childInheritsOnlyItsStandardDescriptors() async throws {
        let stray = open("/dev/null", O_RDONLY)
        #expect(stray > 2)
        defer { close(stray) }
        let result = try await ChildProcess.run("sh", ["-c", "ls /proc/$$/fd"])
        let descriptors = result.stdout.split(separator: "\n").compactMap { Int32($0) }
        #expect(descriptors.contains(0) && descriptors.contains(1) && descriptors.contains(2))
        #expect(!descriptors.contains(stray), "\(descriptors)")
    }

    /// Fifty children at once from fifty tasks, each fed its own input: a pipe end leaked into
    /// a sibling would keep that input open, and its cat would never see end of file.
    @Test func fiftyConcurrentChildrenEachGetTheirOwnOutput() async throws {
        let results = try await withThrowingTaskGroup(of: (Int, ChildProcess.Result).self) { group in
            for index in 0..<50 {
                group.addTask {
                    let input = Array(String(repeating: "child \(index) says hello\n", count: 2000).utf8)
                    let result = try await ChildProcess.run(
                        "sh", ["-c", "cat; echo \"done $1\" >&2", "sh", String(index)], input: .bytes(input), timeout: .seconds(120))
                    return (index, result)
                }
            }
            var all: [Int: ChildProcess.Result] = [:]
            for try await (index, result) in group { all[index] = result }
            return all
        }
        #expect(results.count == 50)
        for (index, result) in results {
            #expect(!result.timedOut, "child \(index) timed out")
            #expect(result.status == 0)
            #expect(result.stdout == String(repeating: "child \(index) says hello\n", count: 2000), "child \(index)")
            #expect(result.stderr == "done \(index)\n")
        }
    }
}
