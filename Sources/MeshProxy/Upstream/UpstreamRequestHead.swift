import MeshHTTP2
import NIOCore
import NIOHTTP1

/// The request head an exchange (or a shadow) sends upstream: already rewritten and forwarded,
/// its fields kept as bytes so the HTTP/1.1 writer and the HTTP/2 header block copy them without
/// a string per field. A class: the head passes through several hands (part enum, transport,
/// pending slot, shadows), and a copy of a class reference is one retain where a copy of the
/// struct would be one per string and array in it (measured: +5 retains per request).
final class UpstreamRequestHead: Equatable {
    var method: HTTPMethod
    /// The origin-form target (HTTP/2: `:path`).
    var uri: String
    var version: HTTPVersion
    /// Names as the client sent them (HTTP/2 lower-cases them when the block is built); Host
    /// carries the authority.
    var fields: HeaderFields
    /// Whether the request asks the upstream to switch protocols (a WebSocket upgrade): its
    /// fields carry `connection: upgrade`, and a 101 turns the connection into a tunnel.
    var isUpgrade: Bool

    init(method: HTTPMethod, uri: String, version: HTTPVersion, fields: HeaderFields, isUpgrade: Bool = false) {
        self.method = method
        self.uri = uri
        self.version = version
        self.fields = fields
        self.isUpgrade = isUpgrade
    }

    static func == (lhs: UpstreamRequestHead, rhs: UpstreamRequestHead) -> Bool {
        lhs.method == rhs.method && lhs.uri == rhs.uri && lhs.version == rhs.version && lhs.fields == rhs.fields
    }
}

/// What an upstream transport is given: the head, body bytes, the end (with trailers).
typealias UpstreamRequestPart = HTTPPart<UpstreamRequestHead, IOData>
