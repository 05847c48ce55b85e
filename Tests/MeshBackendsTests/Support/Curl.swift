import Foundation
import MeshTestSupport

/// `curl -sS` with the given arguments (add `-D -` to get the head in stdout), bounded by its
/// own `--max-time` and, a little later, by a deadline of ours.
func curl(_ arguments: [String], timeout: Int = 30) async throws -> ChildProcess.Result {
    try await ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", String(timeout)] + arguments, timeout: .seconds(timeout + 5))
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
