// The floor SwiftNIO itself sets for a proxy: every downstream connection gets its own upstream
// connection on the same event loop, and bytes are relayed both ways with no HTTP work at all.
// scripts/bench-peers.sh runs it next to meshsim, nginx and HAProxy.
//
//   nio-relay-floor LISTEN_HOST:PORT UPSTREAM_HOST:PORT
// Linked for jemalloc, the allocator meshsim serves with, so that the floor stays meshsim's floor.
import CJemalloc
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes what one channel reads to its partner, flushing once per read burst; closes the
/// partner when its own channel closes.
final class Relay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let partner: Channel
    private var unflushed = false

    init(partner: Channel) {
        self.partner = partner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.write(Self.unwrapInboundIn(data), promise: nil)
        unflushed = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard unflushed else { return }
        unflushed = false
        partner.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

func hostAndPort(_ text: String) -> (String, Int)? {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
    return (String(text[..<colon]), port)
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let listen = hostAndPort(arguments[1]), let upstream = hostAndPort(arguments[2]) else {
    print("usage: nio-relay-floor LISTEN_HOST:PORT UPSTREAM_HOST:PORT")
    exit(2)
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { downstream in
        // The downstream is registered (and read) only once its upstream is connected.
        ClientBootstrap(group: downstream.eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { upstreamChannel in
                upstreamChannel.eventLoop.makeCompletedFuture {
                    try upstreamChannel.pipeline.syncOperations.addHandler(Relay(partner: downstream))
                }
            }
            .connect(host: upstream.0, port: upstream.1)
            .flatMapThrowing { upstreamChannel in
                try downstream.pipeline.syncOperations.addHandler(Relay(partner: upstreamChannel))
            }
    }
    .bind(host: listen.0, port: listen.1)
    .wait()
print("relaying \(server.localAddress.map { "\($0)" } ?? arguments[1]) to \(arguments[2])")
try server.closeFuture.wait()
