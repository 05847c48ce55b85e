import MeshHTTP2
import NIOHTTP1

/// Whether a message leaves its connection open for another, by NIO's rules for
/// `HTTPRequestHead.isKeepAlive` (a `close` token wins, a second token means close, otherwise
/// HTTP/1.1 keeps alive and HTTP/1.0 does not), read from the Connection fields' bytes without
/// allocating. NIO takes this from llhttp's notes for heads it decoded itself; for heads built
/// from fields, as the proxy's own parsers build them, it splits every Connection value into new
/// strings on each call.
enum HTTP1KeepAlive {
    static func isKeepAlive(_ headers: HTTPHeaders, version: HTTPVersion) -> Bool {
        let byDefault = version.major == 1 && version.minor >= 1
        // NIO's own lookup walks its storage without copying the fields out; most messages have
        // no Connection field (the parsers leave HTTP/1.1's `keep-alive` out).
        guard headers.contains(name: "connection") else { return byDefault }
        var verdict = ConnectionTokens()
        for (name, value) in headers where HTTP1Bytes.equalsIgnoringCase(name, "connection") {
            var value = value
            if value.withUTF8({ verdict.closes(UnsafeRawBufferPointer($0)) }) { return false }
        }
        return verdict.sawKeepAlive || byDefault
    }

    /// The same verdict from byte fields.
    static func isKeepAlive(_ fields: HeaderFields, version: HTTPVersion) -> Bool {
        let byDefault = version.major == 1 && version.minor >= 1
        var verdict = ConnectionTokens()
        var closes = false
        fields.forEachField { name, value in
            if !closes, name.count == 10, FieldName.equalsLowercase(name, "connection") { closes = verdict.closes(value) }
        }
        return !closes && (verdict.sawKeepAlive || byDefault)
    }

    /// The tokens of the Connection values seen so far.
    private struct ConnectionTokens {
        var sawKeepAlive = false

        /// Whether this value's tokens close the connection (a `close`, or a second `keep-alive`).
        mutating func closes(_ raw: UnsafeRawBufferPointer) -> Bool {
            var start = 0
            while start < raw.count {
                var end = start
                while end < raw.count, raw[end] != UInt8(ascii: ",") { end += 1 }
                var tokenStart = start
                var tokenEnd = end
                while tokenStart < tokenEnd, HTTP1Bytes.isWhitespace(raw[tokenStart]) { tokenStart += 1 }
                while tokenEnd > tokenStart, HTTP1Bytes.isWhitespace(raw[tokenEnd - 1]) { tokenEnd -= 1 }
                let length = tokenEnd - tokenStart
                if HTTP1Bytes.equalsIgnoringCase(raw, tokenStart, length, "close") { return true }
                if HTTP1Bytes.equalsIgnoringCase(raw, tokenStart, length, "keep-alive") {
                    // NIO: keep-alive after any other verdict means close.
                    if sawKeepAlive { return true }
                    sawKeepAlive = true
                }
                start = end + 1
            }
            return false
        }
    }
}

extension HTTPRequestHead {
    /// `isKeepAlive` without allocating (see `HTTP1KeepAlive`).
    var keepsConnectionAlive: Bool { HTTP1KeepAlive.isKeepAlive(headers, version: version) }
}

extension HTTPResponseHead {
    /// `isKeepAlive` without allocating (see `HTTP1KeepAlive`).
    var keepsConnectionAlive: Bool { HTTP1KeepAlive.isKeepAlive(headers, version: version) }
}
