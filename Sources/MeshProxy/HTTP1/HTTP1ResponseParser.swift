import MeshHTTP2
import NIOCore
import NIOHTTP1

/// HTTP/1.1 responses decoded straight from an upstream connection's bytes, one event at a time,
/// with the same line rules as `HTTP1RequestParser`. The body is delimited as RFC 9112 §6.3 says:
/// none for a HEAD request or a 1xx/204/304 status, else chunked when the last transfer coding is
/// chunked, else Content-Length, else until the connection closes (`finish()`). Interim 1xx
/// answers (other than 101) are skipped, as the proxy answers `Expect: 100-continue` itself. A
/// 101 to a request that asked to upgrade is followed by the new protocol's bytes, passed on as
/// body until the connection closes.
struct HTTP1ResponseParser {
    enum Event {
        case head(UpstreamResponseHead)
        case body(ByteBuffer)
        case end(HTTPHeaders?)
    }

    let limits: HTTP1Limits
    /// Whether the next bytes start a head (else they belong to the current body).
    private var readingHead = true
    private var body = HTTP1BodyReader()
    private var block = HTTP1FieldBlock(hasStartLine: true)
    private var status = 0
    private var version = HTTPVersion.http1_1
    /// Whether the request being answered is a HEAD (its answer has no body whatever it says).
    var answersHead = false
    /// Whether the request being answered asked to upgrade (WebSocket): a 101 then switches.
    var answersUpgrade = false
    /// The fields of a head already forwarded, handed back: the next head's are written into
    /// their storage (no allocation per response on a keep-alive connection).
    var spareFields: HeaderFields?

    init(limits: HTTP1Limits = .upstream) {
        self.limits = limits
    }

    /// Whether a response has begun and not ended.
    var isInsideMessage: Bool {
        !readingHead
    }

    /// Whether the current response's body runs until the connection closes (so the connection
    /// cannot carry another).
    var readsUntilClose: Bool {
        !readingHead && body.readsUntilClose
    }

    mutating func next(_ buffer: inout ByteBuffer) throws -> Event? {
        while readingHead {
            guard let head = try readHead(&buffer) else { return nil }
            if let head {
                readingHead = false
                return .head(head)
            }
        }
        switch try body.next(&buffer, block: &block, limits: limits) {
        case nil:
            return nil
        case .body(let slice)?:
            return .body(slice)
        case .end(let trailers)?:
            startNextMessage()
            return .end(trailers)
        }
    }

    /// The connection closed: a body delimited by the close ends now; nil when that is not
    /// how the current response ends.
    mutating func finish() -> Event? {
        guard readsUntilClose else { return nil }
        startNextMessage()
        return .end(nil)
    }

    private mutating func startNextMessage() {
        readingHead = true
        block.reset(hasStartLine: true)
    }

    /// nil: more bytes needed; .some(nil): an interim 1xx was skipped; else the final head.
    private mutating func readHead(_ buffer: inout ByteBuffer) throws -> UpstreamResponseHead?? {
        let found = try buffer.withUnsafeReadableBytes { bytes -> (HeaderFields, Int)? in
            while true {
                switch try block.scan(bytes, limits: limits) {
                case .needMoreData:
                    return nil
                case .startLine(let line):
                    try readStatusLine(bytes, line)
                case .complete(let length):
                    // Interim answers are dropped: their fields are not copied.
                    if status < 200 && status != 101 { return (HeaderFields(), length) }
                    return (HTTP1Fields.fields(block, bytes, version: version, reusing: &spareFields), length)
                }
            }
        }
        guard let (headers, length) = found else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        if status < 200 && status != 101 {
            block.reset(hasStartLine: true)
            return .some(nil)
        }
        if status == 101 && answersUpgrade {
            body.start(.untilClose)
        } else if answersHead || status < 200 || status == 204 || status == 304 {
            body.start(.none)
        } else if block.hasTransferEncoding {
            // RFC 9112 §6.3: a response whose last coding is not chunked runs until close.
            body.start(block.chunkedIsLast ? .chunked : .untilClose)
        } else if let length = block.contentLength {
            body.start(.length(length))
        } else {
            body.start(.untilClose)
        }
        return UpstreamResponseHead(http1Status: status, version: version, fields: consume headers)
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason-phrase]`.
    private mutating func readStatusLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) throws {
        let start = line.lowerBound
        guard line.count >= 12, bytes[start + 8] == HTTP1Bytes.space else { throw HTTP1ParseError.invalidStatusLine }
        version = try HTTP1Fields.version(bytes, from: start, to: start + 8, malformed: .invalidStatusLine)
        var code = 0
        for index in (start + 9)..<(start + 12) {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw HTTP1ParseError.invalidStatusLine }
            code = code * 10 + Int(digit)
        }
        guard code >= 100 else { throw HTTP1ParseError.invalidStatusLine }
        if line.count > 12 {
            guard bytes[start + 12] == HTTP1Bytes.space else { throw HTTP1ParseError.invalidStatusLine }
            for index in (start + 13)..<line.upperBound where !HTTP1Bytes.isFieldValueByte(bytes[index]) {
                throw HTTP1ParseError.invalidStatusLine
            }
        }
        status = code
    }
}
