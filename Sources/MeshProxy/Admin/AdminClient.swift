import NIOCore
import NIOPosix

/// A client of a running `meshsim serve`'s admin server: what `meshsim apply`, `rollback` and
/// `revisions` use. One connection per call.
public struct AdminClient: Sendable {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// The admin server cannot be reached (not running, wrong address).
    public struct Unreachable: Error, CustomStringConvertible {
        public let address: String
        public let reason: String
        public var description: String { "cannot reach the meshsim admin server at \(address): \(reason)" }
    }

    /// Sends one request and returns the whole response.
    public func send(method: String, path: String, body: String? = nil, contentType: String? = nil) async throws -> MeshResponse {
        var headers: [(String, String)] = [("connection", "close")]
        if let contentType { headers.append(("content-type", contentType)) }
        do {
            return try await MeshClient.send(
                to: host, port: port, group: MultiThreadedEventLoopGroup.singleton, method: method, host: "\(host):\(port)", path: path,
                headers: headers, body: body)
        } catch {
            throw Unreachable(address: "\(host):\(port)", reason: Self.describe(error))
        }
    }

    static func describe(_ error: Error) -> String {
        if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first {
            return describe(first.error)
        }
        if let io = error as? IOError { return io.description }
        if error is MeshClient.ClosedEarly { return "the connection closed before a response" }
        return "\(error)"
    }
}
