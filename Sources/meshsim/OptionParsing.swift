import ArgumentParser
import MeshConfig

// Values the subcommands' options share, parsed one way everywhere so that the same flag
// accepts the same text and says the same thing when it is wrong.

/// `host:port` or `[v6]:port`, as --listen and --admin take them.
enum HostPort {
    static func parse(_ text: String, option: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ValidationError("\(option): expected host:port, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("\(option): expected host:port with a port from 0 to 65535, got \"\(text)\"")
        }
        return (host, port)
    }
}

/// Durations on the command line, in Istio's syntax (4s, 1500ms, 1m); nil when the text is not
/// one, or is zero and `allowingZero` is false.
func parseDuration(_ text: String, allowingZero: Bool = false) -> Duration? {
    guard let parsed = IstioDuration(parsing: text), parsed.nanoseconds > 0 || (allowingZero && parsed.nanoseconds == 0) else { return nil }
    return .nanoseconds(parsed.nanoseconds)
}

/// Throws "OPTION: expected LOW to HIGH, got VALUE" unless `value` lies in `range`.
func requireOption<Value: Comparable>(_ option: String, _ value: Value, in range: ClosedRange<Value>, unit: String = "") throws {
    guard range.contains(value) else {
        throw ValidationError("\(option): expected \(range.lowerBound) to \(range.upperBound)\(unit), got \(value)")
    }
}
