/// Input that cannot drive a run (a malformed `--expect`, mix file, URL or option combination),
/// or a target that cannot be reached at all. Its description is one line naming the problem.
public struct LoadInputError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
