/// A gRPC answer's outcome, kept where an HTTP status goes: 1000 + its `grpc-status`, so that
/// the recorder keys both alike and the report tells them apart (`grpc 14` beside `503`).
enum GRPCOutcome {
    static let base = 1000

    static func status(forCode code: Int) -> Int { base + code }

    /// The gRPC code a recorded status stands for; nil for an HTTP status.
    static func code(ofStatus status: Int) -> Int? { status >= base ? status - base : nil }

    /// A `grpc-status` field's code; nil when absent or not a small number.
    static func code(_ value: String?) -> Int? {
        guard let value, let code = Int(value), (0..<base).contains(code) else { return nil }
        return code
    }

    /// How the report names a recorded status: `200`, or `grpc 14`.
    static func reportKey(_ status: Int) -> String {
        code(ofStatus: status).map { "grpc \($0)" } ?? String(status)
    }
}
