import MeshHTTP2
import NIOCore
import NIOHTTP1

/// The request head an exchange (or a shadow) sends upstream: already rewritten and forwarded,
/// its fields kept as bytes so the HTTP/1.1 writer and the HTTP/2 header block copy them without
/// a string per field.
struct UpstreamRequestHead: Equatable {
    var method: HTTPMethod
    /// The origin-form target (HTTP/2: `:path`).
    var uri: String
    var version: HTTPVersion
    /// Names as the client sent them (HTTP/2 lower-cases them when the block is built); Host
    /// carries the authority.
    var fields: HeaderFields
}

/// What an upstream transport is given: the head, body bytes, the end (with trailers).
typealias UpstreamRequestPart = HTTPPart<UpstreamRequestHead, IOData>
