// The floor meshsim's HTTP/2 codec (MeshHTTP2: libnghttp2 sessions in SwiftNIO handlers) sets
// for an h2c proxy: one event loop, one upstream h2c connection that every downstream
// connection's streams share (as meshsim's pool and nghttpx do), and each stream relayed as it
// comes: its head (`host` from `:authority`), body and end one way, the response's head, body and
// end the other. No routing, no header rewriting, no metrics, no timers, no second upstream
// connection when the first is full or gone: what is left of a proxied request's cost is the
// codec's and NIO's. scripts/bench-h2-peers.sh runs it next to meshsim and nghttpx.
//
//   h2-relay-floor LISTEN_HOST:PORT UPSTREAM_HOST:PORT
import MeshHTTP2
// Linked for jemalloc, the allocator meshsim serves with, so that the floor stays meshsim's floor.
import CJemalloc
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One downstream connection's streams, each relayed to the upstream connection.
final class StreamRelay: HTTP2ServerDelegate {
    /// The shared upstream connection, set before the downstream is read.
    var upstream: HTTP2ClientConnection?
    /// Downstream stream → its relay on the upstream connection.
    private var relays: [HTTP2StreamID: ResponseRelay] = [:]

    func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        var fields = HeaderFields(head.headers)
        if !head.authority.isEmpty { fields.append(name: "host", value: head.authority) }
        self.open(method: head.method, scheme: head.scheme, path: head.path, fields: fields, endStream: endStream, stream: stream, connection: connection)
    }

    func requestHead(
        method: consuming String, scheme: consuming String, authority: consuming String, path: consuming String,
        fields: consuming HeaderFields, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection
    ) {
        var fields = fields
        if !authority.isEmpty { fields.append(name: "host", value: authority) }
        self.open(method: method, scheme: scheme, path: path, fields: fields, endStream: endStream, stream: stream, connection: connection)
    }

    private func open(
        method: String, scheme: String, path: String, fields: HeaderFields, endStream: Bool, stream: HTTP2StreamID,
        connection: HTTP2ServerConnection
    ) {
        let relay = ResponseRelay(downstream: connection, downstreamStream: stream)
        do {
            guard let upstream else { throw HTTP2CodecError.connectionGoingAway }
            relay.upstreamStream = try upstream.openStream(
                method: method, scheme: scheme, path: path, forwardedFields: fields, endStream: endStream, delegate: relay)
            relays[stream] = relay
        } catch {
            try? connection.sendResponseHead(HTTP2ResponseHead(status: 503), stream: stream, endStream: true)
        }
    }

    func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
        guard let upstreamStream = relays[stream]?.upstreamStream else { return }
        try? upstream?.sendBody(chunk, stream: upstreamStream)
    }

    func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let upstreamStream = relays[stream]?.upstreamStream else { return }
        try? upstream?.sendEnd(stream: upstreamStream, trailers: trailers)
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        guard let relay = relays.removeValue(forKey: stream), let upstreamStream = relay.upstreamStream else { return }
        try? upstream?.resetStream(upstreamStream)
    }

    func streamClosed(_ stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
        relays[stream] = nil
    }
}

/// Relays one upstream stream's response to its downstream stream.
final class ResponseRelay: HTTP2ClientStreamDelegate {
    unowned let downstream: HTTP2ServerConnection
    let downstreamStream: HTTP2StreamID
    var upstreamStream: HTTP2StreamID?

    init(downstream: HTTP2ServerConnection, downstreamStream: HTTP2StreamID) {
        self.downstream = downstream
        self.downstreamStream = downstreamStream
    }

    func responseHead(_ head: HTTP2ResponseHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        try? downstream.sendResponseHead(head, stream: downstreamStream, endStream: endStream)
    }

    func responseHead(status: Int, fields: consuming HeaderFields, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        try? downstream.sendResponseHead(status: status, fields: fields, stream: downstreamStream, endStream: endStream)
    }

    func responseBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        connection.consume(chunk.readableBytes, stream: stream)
        try? downstream.sendBody(chunk, stream: downstreamStream)
    }

    func responseEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        try? downstream.sendEnd(stream: downstreamStream, trailers: trailers)
    }

    func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ClientConnection) {
        try? downstream.resetStream(downstreamStream)
    }
}

func hostAndPort(_ text: String) -> (String, Int)? {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
    return (String(text[..<colon]), port)
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let listen = hostAndPort(arguments[1]), let upstream = hostAndPort(arguments[2]) else {
    print("usage: h2-relay-floor LISTEN_HOST:PORT UPSTREAM_HOST:PORT")
    exit(2)
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
// Connected before listening: every downstream connection (all on the one loop) shares it.
let sharedUpstream = try HTTP2ClientConnection.connect(host: upstream.0, port: upstream.1, group: group).wait()
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { downstream in
        downstream.eventLoop.makeCompletedFuture {
            let relay = StreamRelay()
            relay.upstream = sharedUpstream.value
            try downstream.pipeline.syncOperations.addHandler(HTTP2ServerConnection(delegate: relay))
        }
    }
    .bind(host: listen.0, port: listen.1)
    .wait()
print("relaying h2c \(server.localAddress.map { "\($0)" } ?? arguments[1]) to \(arguments[2])")
try server.closeFuture.wait()
