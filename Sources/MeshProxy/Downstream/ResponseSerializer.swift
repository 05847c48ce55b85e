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
    static func writeHead(status: Int, reason: String? = nil, version: HTTPVersion, headers: HTTPHeaders, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(version.minor == 0 && version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString(String(status))
        buffer.writeStaticString(" ")
        buffer.writeString(reason ?? HTTPResponseStatus(statusCode: status).reasonPhrase)
        buffer.writeStaticString("\r\n")
        for (name, value) in headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    static func writeChunkHeader(size: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
    }

    static let continueResponse = "HTTP/1.1 100 Continue\r\n\r\n"
}
