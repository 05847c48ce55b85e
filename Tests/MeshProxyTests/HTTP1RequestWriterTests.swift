import MeshHTTP2
import NIOCore
import NIOHTTP1
import Testing

@testable import MeshProxy

/// The upstream request head as bytes, and which heads make the body chunked (NIO's encoder's
/// rule with automatic framing off, which the proxy relied on before).
@Suite struct HTTP1RequestWriterTests {
    @Test func headIsWrittenAsGivenAndDecodesBack() throws {
        let headers = HTTPHeaders([("Host", "reviews"), ("x-forwarded-for", "127.0.0.1"), ("Content-Length", "5")])
        let head = UpstreamRequestHead(method: .POST, uri: "/a?b=c", version: .http1_1, fields: HeaderFields(headers))
        var buffer = ByteBuffer()
        let chunked = HTTP1RequestWriter.writeHead(head, into: &buffer)
        #expect(!chunked)
        #expect(String(buffer: buffer) == "POST /a?b=c HTTP/1.1\r\nHost: reviews\r\nx-forwarded-for: 127.0.0.1\r\nContent-Length: 5\r\n\r\n")
        var parser = HTTP1RequestParser(limits: ParserHarness.limits)
        guard case .head(let decoded)? = try parser.next(&buffer) else { Issue.record("does not decode"); return }
        #expect(decoded.method == .POST && decoded.uri == "/a?b=c" && decoded.version == .http1_1)
        #expect(decoded.fields == HeaderFields(headers))
        #expect(decoded.host == "reviews")
    }

    @Test(arguments: [
        ("chunked", HTTPVersion.http1_1, true),
        ("Chunked", .http1_1, false),
        ("gzip, chunked", .http1_1, false),
        ("chunked", .http1_0, false),
    ])
    func bodyIsChunkedOnlyForAnExactChunkedCoding(coding: String, version: HTTPVersion, chunked: Bool) {
        let head = UpstreamRequestHead(method: .POST, uri: "/", version: version, fields: HeaderFields(["transfer-encoding": coding]))
        var buffer = ByteBuffer()
        #expect(HTTP1RequestWriter.writeHead(head, into: &buffer) == chunked)
    }

    @Test func chunkFramingAndTrailers() {
        var buffer = ByteBuffer()
        HTTP1RequestWriter.writeChunkHeader(size: 300, into: &buffer)
        HTTP1RequestWriter.writeLastChunk(trailers: ["grpc-status": "0"], into: &buffer)
        HTTP1RequestWriter.writeLastChunk(trailers: nil, into: &buffer)
        #expect(String(buffer: buffer) == "12c\r\n0\r\ngrpc-status: 0\r\n\r\n0\r\n\r\n")
    }
}

/// Field blocks are written byte for byte as `name: value` lines, whatever the strings' storage.
@Suite struct HTTP1FieldWriterTests {
    @Test func fieldsAndTheEmptyLine() {
        let long = String(repeating: "v", count: 300)
        let nonASCII = "caf\u{E9} \u{1F600}"
        let headers = HTTPHeaders([("a", ""), ("Long-Name-Of-A-Field", long), ("x", nonASCII)])
        var buffer = ByteBuffer(string: "prefix|")
        buffer.writeHTTP1Fields(headers)
        #expect(String(buffer: buffer) == "prefix|a: \r\nLong-Name-Of-A-Field: \(long)\r\nx: \(nonASCII)\r\n\r\n")
        var empty = ByteBuffer()
        empty.writeHTTP1Fields(HTTPHeaders())
        #expect(String(buffer: empty) == "\r\n")
    }

    @Test func byteFieldsAreWrittenLikeTheSameHTTPHeaders() {
        let long = String(repeating: "v", count: 3000)
        let headers = HTTPHeaders([("a", ""), ("Long-Name-Of-A-Field", long), ("x", "caf\u{E9} \u{1F600}"), ("a", "again")])
        var fromHeaders = ByteBuffer(string: "prefix|")
        fromHeaders.writeHTTP1Fields(headers)
        var fromFields = ByteBuffer(string: "prefix|")
        fromFields.writeHTTP1Fields(HeaderFields(headers))
        #expect(fromFields == fromHeaders)
        var empty = ByteBuffer()
        empty.writeHTTP1Fields(HeaderFields())
        #expect(String(buffer: empty) == "\r\n")
    }
}
