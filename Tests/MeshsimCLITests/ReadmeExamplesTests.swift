import Foundation
import MeshTestSupport
import Testing

/// Every shell example in README.md runs as written, so the front door cannot rot: commands
/// (lines starting `$ ` or `meshsim `) run in a shell with the built meshsim on PATH, from the
/// repository root, and each output line README shows must appear in what they print (a
/// request count after a metric's labels excepted: it differs run to run).
/// `meshsim serve` runs in the background for the rest of its block (on a free port instead of
/// 15001, which later commands and shown lines are rewritten to use).
@Suite struct ReadmeExamplesTests {
    struct Example: CustomStringConvertible {
        var command: String
        var shownOutput: [String]
        var description: String { command }
    }

    /// The shell code blocks of README.md, each a list of examples. In a block with `$ ` prompts
    /// only prompted lines are commands (the rest is their output); in a block without, every
    /// `meshsim …` line is a command.
    static func shellBlocks() throws -> [[Example]] {
        let readme = try String(contentsOf: MeshsimRunner.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var rawBlocks: [[String]] = []
        var current: [String]? = nil
        var inFence = false
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                if inFence, let block = current { rawBlocks.append(block) }
                // Plain fences only: ```swift blocks are code, not commands.
                current = !inFence && line == "```" ? [] : nil
                inFence.toggle()
                continue
            }
            current?.append(line)
        }
        return rawBlocks.map(examples(in:)).filter { block in block.contains { $0.command.hasPrefix("meshsim") } }
    }

    static func examples(in lines: [String]) -> [Example] {
        let prompted = lines.contains { $0.hasPrefix("$ ") }
        var examples: [Example] = []
        var continuing = false
        for line in lines {
            if continuing, var last = examples.popLast() {
                last.command = String(last.command.dropLast()).trimmingCharacters(in: .whitespaces) + " " + line.trimmingCharacters(in: .whitespaces)
                examples.append(last)
                continuing = line.hasSuffix("\\")
            } else if prompted ? line.hasPrefix("$ ") : line.hasPrefix("meshsim ") {
                let command = prompted ? String(line.dropFirst(2)) : line
                examples.append(Example(command: command, shownOutput: []))
                continuing = command.hasSuffix("\\")
            } else if var last = examples.popLast() {
                last.shownOutput.append(line)
                examples.append(last)
            }
        }
        return examples
    }

    @Test func readmeHasExamplesToRun() throws {
        let examples = try Self.shellBlocks().flatMap { $0 }
        #expect(examples.count >= 10, "README examples found: \(examples)")
        #expect(examples.contains { $0.command.hasPrefix("meshsim serve") })
        #expect(examples.contains { $0.command.hasPrefix("meshsim load") })
    }

    @Test func onlyMetricCountsAreLeftUncompared() {
        #expect(Self.withoutMetricCount(#"reporter="destination" response_code="503" 24"#) == #"reporter="destination" response_code="503" "#)
        // Other shown numbers are compared whole.
        #expect(Self.withoutMetricCount("  chi-square 0.0 on 1 df, p = 1.0000") == "  chi-square 0.0 on 1 df, p = 1.0000")
        #expect(Self.withoutMetricCount("revision 1 applied") == "revision 1 applied")
        #expect(Self.withoutMetricCount(#"response_code="200" shown"#) == #"response_code="200" shown"#)
    }

    /// Blocks run in README order; a `meshsim serve` keeps running for the blocks after it (the
    /// tour's curl and load examples talk to the server its serve example started).
    @Test func readmeExamplesRunAsShown() async throws {
        var server: ServeCommandTests.RunningServe? = nil
        var port = "15001"
        var adminPort = "15000"
        defer { _ = server?.stop() }
        for example in try Self.shellBlocks().flatMap({ $0 }) {
            if example.command.hasPrefix("meshsim serve") {
                _ = await server?.stop()
                // Free ports instead of README's 15001 and 15000, which later commands are rewritten to use.
                let arguments = Self.words(example.command.replacingOccurrences(of: "--admin 127.0.0.1:15000", with: "--admin 127.0.0.1:0"))
                    .dropFirst(2) + ["--listen", "127.0.0.1:0"]
                let running = try ServeCommandTests.RunningServe(Array(arguments))
                server = running
                let listening = try #require(await running.listeningPort(), "serve \(Array(arguments)) did not start: \(running.text)")
                port = String(listening)
                _ = await running.wait { running.text.contains("pods") || !running.isRunning }
                if example.command.contains("--admin") {
                    _ = await running.wait { running.text.contains("admin on http://") || !running.isRunning }
                    let match = try #require(running.text.firstMatch(of: /admin on http:\/\/127\.0\.0\.1:(\d+)/), "no admin line: \(running.text)")
                    adminPort = String(match.1)
                }
                for shown in example.shownOutput where !shown.isEmpty {
                    let expected = Self.rewritePorts(shown, proxy: port, admin: adminPort)
                    #expect(running.text.contains(expected), "serve output lacks \"\(expected)\":\n\(running.text)")
                }
                continue
            }
            let command = Self.rewritePorts(example.command, proxy: port, admin: adminPort)
            let output = try await Self.shell(command)
            let shownError = example.shownOutput.contains { $0.hasPrefix("Error [") }
            #expect(output.status == (shownError ? 1 : 0), "\(command) exited \(output.status):\n\(output.text)")
            for shown in example.shownOutput where !shown.isEmpty && shown != "…" && !Self.varies(shown) {
                let expected = Self.rewritePorts(Self.withoutMetricCount(shown), proxy: port, admin: adminPort)
                #expect(output.text.contains(expected), "\(command) did not print \"\(expected)\":\n\(output.text)")
            }
        }
    }

    static func rewritePorts(_ text: String, proxy: String, admin: String) -> String {
        text.replacingOccurrences(of: "127.0.0.1:15001", with: "127.0.0.1:\(proxy)")
            .replacingOccurrences(of: "127.0.0.1:15000", with: "127.0.0.1:\(admin)")
    }

    /// Lines whose value legitimately differs run to run (which pod of a subset answered).
    static func varies(_ line: String) -> Bool {
        line.contains("x-meshsim-pod:")
    }

    /// A request count README shows after a metric's labels (`… response_code="503" 24`) is one
    /// run's: which shadows the v2 pod failed and how many had finished when the metrics were
    /// read differ run to run. The series must be there; its count is not compared.
    static func withoutMetricCount(_ line: String) -> String {
        guard line.contains("response_code=\""), let space = line.lastIndex(of: " "),
              UInt64(line[line.index(after: space)...]) != nil else { return line }
        return String(line[...space])
    }

    /// Splits a README command into words the way the shell would for these simple commands.
    static func words(_ command: String) -> [String] {
        var words: [String] = []
        var word = ""
        var quote: Character? = nil
        for ch in command {
            if let q = quote {
                if ch == q { quote = nil } else { word.append(ch) }
            } else if ch == "'" || ch == "\"" {
                quote = ch
            } else if ch == " " {
                if !word.isEmpty { words.append(word); word = "" }
            } else {
                word.append(ch)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }

    /// Runs a README command in bash with the built meshsim first on PATH.
    static func shell(_ command: String) async throws -> (status: Int32, text: String) {
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = MeshsimRunner.binary.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        // Bounded: a README command that hangs fails the test instead of stalling the suite.
        let result = try await ChildProcess.run(
            "/bin/bash", ["-o", "pipefail", "-c", command], environment: environment,
            workingDirectory: MeshsimRunner.repositoryRoot.path, error: .mergedIntoOutput, timeout: .seconds(120))
        return (result.status, result.stdout)
    }
}
