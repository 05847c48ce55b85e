/// Incremental scanner of one header block: a start line (request or status line) and header
/// fields up to the empty line, or trailer fields after a last chunk. It works on the bytes from
/// the block's first byte, which stay in the caller's buffer until the block is complete, and
/// remembers how far it got, so bytes arriving one at a time are each looked at once.
///
/// Every line must end with CRLF; a field line starting with whitespace (obs-fold), a name that is
/// not a token (a space before the colon), a control byte in a value, and a block over its limits
/// are refused. While scanning it notes the framing fields (Content-Length, Transfer-Encoding,
/// Connection), so no second pass is needed.
struct HTTP1FieldBlock {
    /// One field as offsets from the block's first byte; the value without surrounding whitespace.
    /// Four `Int`s in `HeaderFields`' record order (Swift lays a struct's stored properties out in
    /// declaration order): `HTTP1Fields.fields` copies these records into a head's fields as they are.
    struct Field {
        var nameStart: Int
        var nameLength: Int
        var valueStart: Int
        var valueLength: Int
    }

    enum Progress {
        case needMoreData
        /// The start line (without CRLF) is complete; scanning continues with the fields.
        case startLine(Range<Int>)
        /// The empty line ended the block: its length in bytes, CRLFs included.
        case complete(Int)
    }

    private(set) var fields: [Field] = []
    /// Bytes counted against `HTTP1Limits.maxBytes` so far (names and values).
    private(set) var countedBytes = 0
    /// Content-Length's value when the block has one.
    private(set) var contentLength: Int?
    private(set) var hasTransferEncoding = false
    /// Whether the last transfer coding seen is `chunked`.
    private(set) var chunkedIsLast = false
    /// How many times `chunked` was named across the Transfer-Encoding fields.
    private(set) var chunkedCount = 0
    /// How many codings the Transfer-Encoding fields name in all.
    private(set) var codingCount = 0
    /// The index of the block's only Connection field when it says just `keep-alive`.
    private(set) var keepAliveOnlyField: Int?
    private var connectionFields = 0
    /// Whether the block is a message head (whose framing fields matter) rather than trailers.
    private var notesFraming: Bool
    private var awaitsStartLine: Bool
    private var lineStart = 0
    private var searchFrom = 0

    init(hasStartLine: Bool) {
        awaitsStartLine = hasStartLine
        notesFraming = hasStartLine
        fields.reserveCapacity(16)
    }

    /// Ready for the next block (a head when `hasStartLine`, else trailers), keeping the storage.
    mutating func reset(hasStartLine: Bool) {
        fields.removeAll(keepingCapacity: true)
        countedBytes = 0
        contentLength = nil
        hasTransferEncoding = false
        chunkedIsLast = false
        chunkedCount = 0
        codingCount = 0
        keepAliveOnlyField = nil
        connectionFields = 0
        awaitsStartLine = hasStartLine
        notesFraming = hasStartLine
        lineStart = 0
        searchFrom = 0
    }

    /// Scans the complete lines in `bytes` (everything received from the block's first byte on).
    mutating func scan(_ bytes: UnsafeRawBufferPointer, limits: HTTP1Limits) throws -> Progress {
        if awaitsStartLine {
            // Empty lines before a message are ignored (RFC 9112 §2.2), as llhttp does.
            while lineStart < bytes.count, bytes[lineStart] == HTTP1Bytes.cr || bytes[lineStart] == HTTP1Bytes.lf {
                lineStart += 1
            }
            searchFrom = max(searchFrom, lineStart)
        }
        while true {
            guard let lf = HTTP1Bytes.firstLF(in: bytes, from: searchFrom) else {
                searchFrom = bytes.count
                if bytes.count > limits.maxRawBytes { throw HTTP1ParseError.headersTooLarge }
                return .needMoreData
            }
            let lineBegin = lineStart
            guard lf > lineBegin, bytes[lf - 1] == HTTP1Bytes.cr else { throw HTTP1ParseError.missingCR }
            let lineEnd = lf - 1
            lineStart = lf + 1
            searchFrom = lf + 1
            if awaitsStartLine {
                awaitsStartLine = false
                return .startLine(lineBegin..<lineEnd)
            }
            if lineEnd == lineBegin { return .complete(lf + 1) }
            try addField(bytes, from: lineBegin, to: lineEnd, limits: limits)
        }
    }

    /// The bytes of the start line received so far while it is still incomplete (for an early
    /// look at what cannot become a valid line), or nil.
    func partialStartLine(_ bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        guard awaitsStartLine, lineStart < bytes.count else { return nil }
        return lineStart..<bytes.count
    }

    private mutating func addField(_ bytes: UnsafeRawBufferPointer, from begin: Int, to end: Int, limits: HTTP1Limits) throws {
        if HTTP1Bytes.isWhitespace(bytes[begin]) { throw HTTP1ParseError.obsoleteLineFolding }
        var index = begin
        while index < end, HTTP1Bytes.isToken(bytes[index]) { index += 1 }
        guard index > begin, index < end, bytes[index] == HTTP1Bytes.colon else { throw HTTP1ParseError.invalidHeaderName }
        let nameLength = index - begin
        index += 1
        while index < end, HTTP1Bytes.isWhitespace(bytes[index]) { index += 1 }
        var valueEnd = end
        while valueEnd > index, HTTP1Bytes.isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
        guard HTTP1Bytes.areFieldValueBytes(bytes, from: index, to: valueEnd) else { throw HTTP1ParseError.invalidHeaderValue }
        let valueLength = valueEnd - index
        guard fields.count < limits.maxFields, nameLength <= limits.maxBytes, valueLength <= limits.maxBytes else {
            throw HTTP1ParseError.headersTooLarge
        }
        countedBytes += nameLength + valueLength
        guard countedBytes <= limits.maxBytes else { throw HTTP1ParseError.headersTooLarge }
        fields.append(Field(nameStart: begin, nameLength: nameLength, valueStart: index, valueLength: valueLength))
        if notesFraming { try noteFraming(bytes, nameStart: begin, nameLength: nameLength, valueStart: index, valueLength: valueLength) }
    }

    /// Content-Length and Transfer-Encoding, checked where smuggling hides: a second
    /// Content-Length (even an equal one, as llhttp refuses it), both framings at once, a length
    /// that is not a plain decimal.
    private mutating func noteFraming(_ bytes: UnsafeRawBufferPointer, nameStart: Int, nameLength: Int, valueStart: Int, valueLength: Int) throws {
        if nameLength == 14, HTTP1Bytes.equalsIgnoringCase(bytes, nameStart, 14, "content-length") {
            guard contentLength == nil else { throw HTTP1ParseError.duplicateContentLength }
            guard !hasTransferEncoding else { throw HTTP1ParseError.contentLengthWithTransferEncoding }
            guard let length = HTTP1Bytes.decimal(bytes, valueStart, valueLength) else { throw HTTP1ParseError.invalidContentLength }
            contentLength = length
        } else if nameLength == 17, HTTP1Bytes.equalsIgnoringCase(bytes, nameStart, 17, "transfer-encoding") {
            guard contentLength == nil else { throw HTTP1ParseError.contentLengthWithTransferEncoding }
            hasTransferEncoding = true
            noteCodings(bytes, valueStart: valueStart, valueLength: valueLength)
        } else if nameLength == 10, HTTP1Bytes.equalsIgnoringCase(bytes, nameStart, 10, "connection") {
            connectionFields += 1
            let keepAliveOnly = HTTP1Bytes.equalsIgnoringCase(bytes, valueStart, valueLength, "keep-alive")
            keepAliveOnlyField = connectionFields == 1 && keepAliveOnly ? fields.count - 1 : nil
        }
    }

    /// The codings of a Transfer-Encoding value (`gzip, chunked`): whether the last is `chunked`,
    /// how often `chunked` appears, and how many there are.
    private mutating func noteCodings(_ bytes: UnsafeRawBufferPointer, valueStart: Int, valueLength: Int) {
        let end = valueStart + valueLength
        var start = valueStart
        var lastIsChunked = false
        while start < end {
            var tokenEnd = start
            while tokenEnd < end, bytes[tokenEnd] != UInt8(ascii: ",") { tokenEnd += 1 }
            var first = start
            var last = tokenEnd
            while first < last, HTTP1Bytes.isWhitespace(bytes[first]) { first += 1 }
            while last > first, HTTP1Bytes.isWhitespace(bytes[last - 1]) { last -= 1 }
            if last > first {
                codingCount += 1
                lastIsChunked = HTTP1Bytes.equalsIgnoringCase(bytes, first, last - first, "chunked")
                if lastIsChunked { chunkedCount += 1 }
            }
            start = tokenEnd + 1
        }
        chunkedIsLast = lastIsChunked
    }
}
