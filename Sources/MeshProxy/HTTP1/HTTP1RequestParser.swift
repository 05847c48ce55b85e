import MeshHTTP2
import NIOCore
import NIOHTTP1

/// HTTP/1.1 requests decoded straight from the connection's bytes, one event at a time: the caller
/// keeps unread bytes in its buffer and asks for the next event when it can take one (so
/// pipelined requests simply wait in the buffer). Bodies come out as slices of the input.
///
/// The rules are llhttp's strict ones (what NIO's decoder enforced before): CRLF line ends, no
/// obs-fold, token header names, no control bytes in values, a visible-ASCII target, HTTP/1.0 or
/// 1.1 only, a known method; for framing, a Content-Length together with Transfer-Encoding, a
/// second Content-Length, a non-decimal length and a bad chunk size are all refused (400); a head
/// over the limits is refused with 431. Unlike llhttp, and as Envoy does: a Transfer-Encoding
/// other than a single `chunked` is refused with 501 (llhttp takes any list ending in chunked);
/// values lose their trailing whitespace too (RFC 9110 §5.5); and a request asking to upgrade to
/// something other than h2c is followed by further requests rather than ending the decoding.
struct HTTP1RequestParser {
    enum Event {
        case head(DownstreamRequestHead)
        case body(ByteBuffer)
        /// The request ended; trailers when a chunked body had any.
        case end(HTTPHeaders?)
    }

    let limits: HTTP1Limits
    /// Whether the next bytes start a head (else they belong to the current body).
    private var readingHead = true
    private var body = HTTP1BodyReader()
    private var block = HTTP1FieldBlock(hasStartLine: true)
    private var targetReuse = HTTP1StringReuse()
    private var hostReuse = HTTP1StringReuse()
    // The request line, found before the fields.
    private var method = HTTPMethod.GET
    private var targetStart = 0
    private var targetLength = 0
    private var version = HTTPVersion.http1_1

    init(limits: HTTP1Limits) {
        self.limits = limits
    }

    /// Whether a request has begun (its head or body is partly read).
    var isInsideMessage: Bool {
        !readingHead
    }

    /// The next event from `buffer` (consuming its bytes), or nil until more bytes arrive.
    mutating func next(_ buffer: inout ByteBuffer) throws -> Event? {
        if readingHead {
            guard let head = try readHead(&buffer) else { return nil }
            readingHead = false
            return .head(head)
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

    /// Everything after the head just returned is body until the connection closes: an upgrade
    /// (WebSocket) request, whose bytes after the head belong to the new protocol, as Envoy's
    /// codec treats them once it is in upgrade mode.
    mutating func readRestAsTunnel() {
        guard !readingHead else { return }
        body.start(.untilClose)
    }

    private mutating func startNextMessage() {
        readingHead = true
        block.reset(hasStartLine: true)
    }

    private mutating func readHead(_ buffer: inout ByteBuffer) throws -> DownstreamRequestHead? {
        let found = try buffer.withUnsafeReadableBytes { bytes -> (DownstreamRequestHead, Int)? in
            while true {
                switch try block.scan(bytes, limits: limits) {
                case .needMoreData:
                    if let partial = block.partialStartLine(bytes) { try checkPartialRequestLine(bytes, partial) }
                    return nil
                case .startLine(let line):
                    try readRequestLine(bytes, line)
                case .complete(let length):
                    guard targetLength + block.countedBytes <= limits.maxBytes else { throw HTTP1ParseError.headersTooLarge }
                    return (makeHead(bytes), length)
                }
            }
        }
        guard let (head, length) = found else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        if block.hasTransferEncoding {
            // Envoy takes `chunked` alone and answers any other coding, or `chunked` with another
            // coding before it, 501: a proxy cannot undo a coding it does not know, and a request
            // whose framing two hops may read differently is how requests get smuggled.
            guard block.codingCount == 1, block.chunkedCount == 1 else { throw HTTP1ParseError.unsupportedTransferEncoding }
            body.start(.chunked)
        } else {
            body.start(.length(block.contentLength ?? 0))
        }
        return head
    }

    /// `method SP request-target SP HTTP/1.x`, with single spaces.
    private mutating func readRequestLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) throws {
        var index = line.lowerBound
        while index < line.upperBound, bytes[index] != HTTP1Bytes.space { index += 1 }
        guard let method = HTTP1Method.lookup(bytes, line.lowerBound, index - line.lowerBound) else {
            throw HTTP1ParseError.invalidRequestLine
        }
        let target = index + 1
        index = target
        // Visible ASCII only: a space ends the target, control bytes and raw non-ASCII are refused.
        while index < line.upperBound, bytes[index] > HTTP1Bytes.space, bytes[index] < 0x7F { index += 1 }
        let length = index - target
        guard length > 0, index < line.upperBound, bytes[index] == HTTP1Bytes.space else { throw HTTP1ParseError.invalidRequestLine }
        guard length <= limits.maxBytes else { throw HTTP1ParseError.headersTooLarge }
        version = try HTTP1Fields.version(bytes, from: index + 1, to: line.upperBound, malformed: .invalidRequestLine)
        self.method = method
        targetStart = target
        targetLength = length
    }

    /// Refuses a first line that cannot become a request line as soon as it shows (a TLS hello,
    /// garbage), rather than waiting for a line end that may never come.
    private func checkPartialRequestLine(_ bytes: UnsafeRawBufferPointer, _ partial: Range<Int>) throws {
        var index = partial.lowerBound
        while index < partial.upperBound, bytes[index] != HTTP1Bytes.space { index += 1 }
        let length = index - partial.lowerBound
        let valid = index < partial.upperBound
            ? HTTP1Method.lookup(bytes, partial.lowerBound, length) != nil
            : HTTP1Method.isPrefixOfKnown(bytes, partial.lowerBound, length)
        if !valid { throw HTTP1ParseError.invalidRequestLine }
    }

    /// The head with its fields as bytes (one copy, no string per field); the target and the
    /// first Host become strings, shared with the previous request's when the bytes repeat.
    private mutating func makeHead(_ bytes: UnsafeRawBufferPointer) -> DownstreamRequestHead {
        let uri = targetReuse.string(bytes, targetStart, targetLength)
        let fields = HTTP1Fields.fields(block, bytes, version: version)
        let known = KnownRequestFields(fields)
        let host = known[.host].map { index in
            fields.withField(at: index) { _, value in hostReuse.string(value, 0, value.count) }
        }
        return DownstreamRequestHead(method: method, uri: uri, version: version, fields: fields, host: host, known: known)
    }
}
