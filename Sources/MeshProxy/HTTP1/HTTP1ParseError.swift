/// Why bytes are not an acceptable HTTP/1.1 message. The rules are those of NIO's llhttp in its
/// strict mode, which the proxy used before, and the ones request smuggling exploits.
enum HTTP1ParseError: Error, Equatable, Sendable {
    /// Not `method SP request-target SP HTTP-version CRLF`, or a method llhttp does not know.
    case invalidRequestLine
    /// Not `HTTP-version SP 3DIGIT [SP reason] CRLF`.
    case invalidStatusLine
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1.
    case unsupportedVersion
    /// A line ended by LF alone, or a CR not followed by LF.
    case missingCR
    /// A header name that is empty or holds a byte outside `tchar` (a space before the colon).
    case invalidHeaderName
    /// A control byte inside a header value.
    case invalidHeaderValue
    /// A header line beginning with whitespace (obs-fold, RFC 9112 §5.2).
    case obsoleteLineFolding
    /// The head (or trailers) exceeds the size or field-count limit: 431 downstream.
    case headersTooLarge
    case invalidContentLength
    case duplicateContentLength
    case contentLengthWithTransferEncoding
    /// A request whose Transfer-Encoding is anything but a single `chunked` (`gzip, chunked`,
    /// `chunked, chunked`, two fields): Envoy answers 501 (`http1.invalid_transfer_encoding`),
    /// RFC 9112 §6.1's answer to a coding the server does not understand.
    case unsupportedTransferEncoding
    case invalidChunkSize
    /// Chunk data not followed by CRLF.
    case invalidChunkEnd
    /// An HTTP/1.0 request where the listener does not take them (Envoy without
    /// `accept_http_10`, Istio's default): 426.
    case upgradeRequired

    /// The status a server answers this error with.
    var responseStatus: Int {
        switch self {
        case .headersTooLarge: return 431
        case .upgradeRequired: return 426
        case .unsupportedTransferEncoding: return 501
        default: return 400
        }
    }
}

/// Bounds on one header block (head or trailers), as NIO's decoder counted them: the request
/// target and every header name and value count towards `maxBytes` (each alone may not exceed it
/// either); more than `maxFields` fields is too many.
struct HTTP1Limits: Sendable {
    var maxBytes: Int
    var maxFields: Int

    /// NIO's decoder defaults, used for responses from upstreams.
    static let upstream = HTTP1Limits(maxBytes: 80 * 1024, maxFields: 65_534)

    /// Raw bytes a block may occupy before it is refused unseen: the counted bytes plus room for
    /// separators and whitespace, so a line that never ends cannot grow without bound.
    var maxRawBytes: Int { maxBytes + 4 * min(maxFields, 1 << 20) + 8 * 1024 }
}
