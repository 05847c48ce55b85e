import MeshHTTP2
import NIOCore
import NIOPosix

/// An h2c server on 127.0.0.1 (port 0) whose connections all answer through one delegate: a
/// scripted pod for what the simulated ones do not do (reset every stream, record framing).
final class DelegatingH2Server: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) { self.channel = channel }

    static func start(delegate: some HTTP2ServerDelegate & Sendable) async throws -> DelegatingH2Server {
        let (channel, _) = try await LoopbackListener.bind { try $0.addHandler(HTTP2ServerConnection(delegate: delegate)) }
        return DelegatingH2Server(channel: channel)
    }

    func stop() async throws {
        try await channel.close()
    }
}
