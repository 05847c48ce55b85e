import MeshHTTP2
import NIOCore
import NIOHTTP1

/// A response head as an upstream connection (HTTP/1.1 or an h2c stream) hands it to the exchange:
/// its fields stay bytes, so forwarding them makes no string per field.
struct UpstreamResponseHead {
    var status: Int
    /// The upstream's HTTP version (`HTTP/1.1` for an h2c stream: nothing downstream depends on it).
    var version: HTTPVersion
    /// The fields as received (HTTP/1.1: names as sent; HTTP/2: lower-case).
    var fields: HeaderFields
    /// Whether the connection stays open after this response (HTTP/1.1's Connection rules;
    /// always for an HTTP/2 stream, whose connection is the pool's to close).
    var keepsConnectionAlive: Bool
    /// The head is the whole response: an HTTP/2 HEADERS frame with END_STREAM, such as gRPC's
    /// trailers-only answer, whose `grpc-status` a client reads only from a HEADERS frame that
    /// ends the stream. Envoy passes such a head on with `end_stream` set.
    var endsStream = false
    /// When the head arrived, if the transport read the clock for it already (an h2c stream: the
    /// time of its socket read, `HTTP2ClientConnection.eventTime`); nil: the exchange reads it.
    var receivedAt: NIODeadline? = nil
    /// The fields came from an HTTP/2 upstream: their names are lower-case and none is
    /// connection-specific (nghttp2's HTTP messaging checks refuse such a head).
    var fromHTTP2 = false
}

extension UpstreamResponseHead {
    /// An HTTP/1.1 response head: keep-alive read from its Connection fields.
    init(http1Status status: Int, version: HTTPVersion, fields: HeaderFields) {
        self.init(
            status: status, version: version, fields: fields,
            keepsConnectionAlive: HTTP1KeepAlive.isKeepAlive(fields, version: version), endsStream: false)
    }
}
