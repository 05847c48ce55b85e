import Foundation
import MeshConfig

/// Runs a command-line tool (curl, wrk) to completion with a bounded wait.
enum ProcessRunner {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool
    }

    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = LockedBytes(), errData = LockedBytes()
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(FileDescriptorReader.readToEnd(pipe.fileHandleForReading))
                group.leave()
            }
        }
        var timedOut = false
        if group.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            _ = group.wait(timeout: .now() + 5)
        }
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
            stderr: String(decoding: errData.get(), as: UTF8.self), timedOut: timedOut)
    }

    /// `curl -sS` with the given arguments (add `-D -` to get the head in stdout).
    static func curl(_ arguments: [String], timeout: TimeInterval = 30) throws -> Output {
        try run("/usr/bin/curl", ["-sS", "--max-time", String(Int(timeout))] + arguments, timeout: timeout + 5)
    }

    /// A shell pipeline, for uploads streamed from /dev/zero.
    static func shell(_ command: String, timeout: TimeInterval = 120) throws -> Output {
        try run("/bin/sh", ["-c", command], timeout: timeout)
    }
}

final class LockedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// A response as curl printed it with `-D -`: status, headers (lower-cased names), body.
struct CurlResponse {
    var status: Int
    var headers: [String: String]
    var body: String

    /// Parses the last response head in `text` (after any `100 Continue`), then the body.
    init?(_ text: String) {
        var remaining = Substring(text)
        var head: Substring = ""
        repeat {
            guard let end = remaining.range(of: "\r\n\r\n") else { return nil }
            head = remaining[..<end.lowerBound]
            remaining = remaining[end.upperBound...]
        } while head.hasPrefix("HTTP/1.1 1")
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        self.status = status
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = headers
        self.body = String(remaining)
    }
}

/// Waits until `condition` holds, polling every 10 ms, for at most `seconds`.
func waitUntil(seconds: Double = 20, _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
