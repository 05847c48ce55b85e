import Foundation
import MeshHTTP2
import NIOCore
import NIOHTTP1
import NIOPosix

/// An in-process HTTP/2 client (MeshHTTP2's) on its own event loop, for what curl cannot do
/// (resetting a stream at a chosen moment, several streams on one connection).
final class H2Client: Sendable {
    let group: MultiThreadedEventLoopGroup
    let connection: NIOLoopBound<HTTP2ClientConnection>

    private init(group: MultiThreadedEventLoopGroup, connection: NIOLoopBound<HTTP2ClientConnection>) {
        self.group = group
        self.connection = connection
    }

    static func connect(port: Int) async throws -> H2Client {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let connection = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port, group: group).get()
            return H2Client(group: group, connection: connection)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    func request(_ head: HTTP2RequestHead, body: ByteBuffer? = nil, trailers: HTTPHeaders? = nil) async throws -> HTTP2Response {
        let connection = self.connection
        return try await connection.eventLoop.flatSubmit {
            do {
                return try connection.value.sendRequest(head, body: body, trailers: trailers)
            } catch {
                return connection.eventLoop.makeFailedFuture(error)
            }
        }.get()
    }

    /// Opens a stream whose response is ignored; returns its id.
    func open(_ head: HTTP2RequestHead, endStream: Bool) async throws -> HTTP2StreamID {
        let connection = self.connection
        return try await connection.eventLoop.submit {
            try connection.value.openStream(head, endStream: endStream, delegate: IgnoringStreamDelegate())
        }.get()
    }

    func reset(_ stream: HTTP2StreamID) async throws {
        let connection = self.connection
        try await connection.eventLoop.submit { try connection.value.resetStream(stream, code: .cancel) }.get()
    }

    func shutdown() async {
        let connection = self.connection
        try? await connection.eventLoop.submit { connection.value.close() }.get()
        try? await group.shutdownGracefully()
    }
}

private final class IgnoringStreamDelegate: HTTP2ClientStreamDelegate {
    func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
    }
    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {}
}
