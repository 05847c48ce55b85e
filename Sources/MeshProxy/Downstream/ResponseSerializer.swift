import MeshHTTP2
import NIOCore
import NIOHTTP1

/// How a response body is delimited on the downstream connection.
enum BodyFraming {
    case none
    case contentLength
    case chunked
    /// HTTP/1.0 style: the body ends when the connection closes.
    case untilClose
}

/// Writes HTTP/1.1 responses straight into byte buffers. The proxy frames responses itself
/// (rather than NIO's `HTTPResponseEncoder`) so that a local reply goes out as one buffer, the
/// head of a proxied response keeps the upstream's framing headers for HEAD requests, and no
/// per-request method queue is needed.
enum ResponseSerializer {
    static func writeHead(status: Int, reason: String? = nil, version: HTTPVersion, fields: HeaderFields, into buffer: inout ByteBuffer) {
        writeStatusLine(status: status, reason: reason, version: version, into: &buffer)
        buffer.writeHTTP1Fields(fields)
    }

    /// The status line alone (its fields follow as `name: value` lines, then an empty line).
    static func writeStatusLine(status: Int, reason: String? = nil, version: HTTPVersion, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(version.minor == 0 && version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        if reason == nil, let line = commonStatusLine(status) {
            buffer.writeStaticString(line)
        } else {
            buffer.writeString(String(status))
            buffer.writeStaticString(" ")
            buffer.writeString(reason ?? HTTPResponseStatus(statusCode: status).reasonPhrase)
            buffer.writeStaticString("\r\n")
        }
    }

    /// The rest of the status line of the statuses a proxy sends most, with NIO's reason phrases,
    /// written as one constant rather than formatted per response.
    static func commonStatusLine(_ status: Int) -> StaticString? {
        switch status {
        case 200: return "200 OK\r\n"
        case 201: return "201 Created\r\n"
        case 204: return "204 No Content\r\n"
        case 301: return "301 Moved Permanently\r\n"
        case 302: return "302 Found\r\n"
        case 304: return "304 Not Modified\r\n"
        case 400: return "400 Bad Request\r\n"
        case 403: return "403 Forbidden\r\n"
        case 404: return "404 Not Found\r\n"
        case 429: return "429 Too Many Requests\r\n"
        case 500: return "500 Internal Server Error\r\n"
        case 502: return "502 Bad Gateway\r\n"
        case 503: return "503 Service Unavailable\r\n"
        case 504: return "504 Gateway Timeout\r\n"
        default: return nil
        }
    }

    static func writeChunkHeader(size: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
    }

    static let continueResponse = "HTTP/1.1 100 Continue\r\n\r\n"
}
