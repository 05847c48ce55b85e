import MeshHTTP2
import NIOCore
import NIOHTTP1

/// Serializes the request an exchange sends to an HTTP/1.1 upstream straight into byte buffers
/// (no `HTTPRequestEncoder` in the pipeline). The head is written as given: the exchange frames
/// the request itself and keeps the client's framing. Like NIO's encoder with automatic framing
/// off, a head whose first Transfer-Encoding is exactly `chunked` makes the body chunked.
enum HTTP1RequestWriter {
    /// Writes `head`; returns whether its body must be sent chunked.
    static func writeHead(_ head: UpstreamRequestHead, into buffer: inout ByteBuffer) -> Bool {
        writeRequestLine(method: head.method, uri: head.uri, version: head.version, into: &buffer)
        buffer.writeHTTP1Fields(head.fields)
        guard head.version != .http1_0, let encoding = head.fields.firstIndex(name: "transfer-encoding") else { return false }
        // Exactly `chunked`, as NIO's encoder decides.
        return head.fields.withField(at: encoding) { _, value in value.elementsEqual("chunked".utf8) }
    }

    /// `METHOD target HTTP/1.x` CRLF.
    static func writeRequestLine(method: HTTPMethod, uri: String, version: HTTPVersion, into buffer: inout ByteBuffer) {
        buffer.writeString(method.rawValue)
        buffer.writeStaticString(" ")
        buffer.writeString(uri)
        buffer.writeStaticString(version == .http1_0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n")
    }

    /// The line before a chunk's data (`1a\r\n`).
    static func writeChunkHeader(size: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
    }

    /// The last chunk with the trailers, if any (`0\r\n` fields `\r\n`).
    static func writeLastChunk(trailers: HTTPHeaders?, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("0\r\n")
        if let trailers {
            buffer.writeHTTP1Fields(trailers)
        } else {
            buffer.writeStaticString("\r\n")
        }
    }
}
