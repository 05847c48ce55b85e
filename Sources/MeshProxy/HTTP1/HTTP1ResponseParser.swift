import NIOCore
import NIOHTTP1

/// HTTP/1.1 responses decoded straight from an upstream connection's bytes, one event at a time,
/// with the same line rules as `HTTP1RequestParser`. The body is delimited as RFC 9112 §6.3 says:
/// none for a HEAD request or a 1xx/204/304 status, else chunked when the last transfer coding is
/// chunked, else Content-Length, else until the connection closes (`finish()`). Interim 1xx
/// answers (other than 101) are skipped, as the proxy answers `Expect: 100-continue` itself.
struct HTTP1ResponseParser {
    enum Event {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        case end(HTTPHeaders?)
    }

    private enum State {
        case head
        case body(remaining: Int)
        case chunked
        case trailers
        case untilClose
        case end
    }

    let limits: HTTP1Limits
    private var state = State.head
    private var block = HTTP1FieldBlock(hasStartLine: true)
    private var chunked = HTTP1ChunkedDecoder()
    private var fieldCache = HTTP1FieldCache()
    private var status = 0
    private var version = HTTPVersion.http1_1
    /// Whether the request being answered is a HEAD (its answer has no body whatever it says).
    var answersHead = false

    init(limits: HTTP1Limits = .upstream) {
        self.limits = limits
    }

    /// Whether a response has begun and not ended.
    var isInsideMessage: Bool {
        if case .head = state { return false }
        return true
    }

    /// Whether the current response's body runs until the connection closes (so the connection
    /// cannot carry another).
    var readsUntilClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    mutating func next(_ buffer: inout ByteBuffer) throws -> Event? {
        while true {
            switch state {
            case .head:
                guard let head = try readHead(&buffer) else { return nil }
                if let head { return .head(head) }
            case .body(let remaining):
                let available = buffer.readableBytes
                guard available > 0 else { return nil }
                let length = min(available, remaining)
                guard let slice = buffer.readSlice(length: length) else { return nil }
                state = length == remaining ? .end : .body(remaining: remaining - length)
                return .body(slice)
            case .untilClose:
                guard buffer.readableBytes > 0, let slice = buffer.readSlice(length: buffer.readableBytes) else { return nil }
                return .body(slice)
            case .chunked:
                switch try chunked.next(&buffer) {
                case .needMoreData:
                    return nil
                case .data(let slice):
                    return .body(slice)
                case .lastChunk:
                    block.reset(hasStartLine: false)
                    state = .trailers
                }
            case .trailers:
                guard let trailers = try HTTP1Fields.readTrailers(&block, from: &buffer, limits: limits) else { return nil }
                startNextMessage()
                return .end(trailers.isEmpty ? nil : trailers)
            case .end:
                startNextMessage()
                return .end(nil)
            }
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
        state = .head
        block.reset(hasStartLine: true)
    }

    /// nil: more bytes needed; .some(nil): an interim 1xx was skipped; else the final head.
    private mutating func readHead(_ buffer: inout ByteBuffer) throws -> HTTPResponseHead?? {
        let found = try buffer.withUnsafeReadableBytes { bytes -> (HTTPHeaders, Int)? in
            while true {
                switch try block.scan(bytes, limits: limits) {
                case .needMoreData:
                    return nil
                case .startLine(let line):
                    try readStatusLine(bytes, line)
                case .complete(let length):
                    return (HTTP1Fields.headers(block, bytes, version: version, cache: &fieldCache), length)
                }
            }
        }
        guard let (headers, length) = found else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        if status < 200 && status != 101 {
            block.reset(hasStartLine: true)
            return .some(nil)
        }
        if answersHead || status < 200 || status == 204 || status == 304 {
            state = .end
        } else if block.hasTransferEncoding {
            // RFC 9112 §6.3: a response whose last coding is not chunked runs until close.
            if block.chunkedIsLast {
                chunked.reset()
                state = .chunked
            } else {
                state = .untilClose
            }
        } else if let length = block.contentLength {
            state = length > 0 ? .body(remaining: length) : .end
        } else {
            state = .untilClose
        }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: headers)
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
