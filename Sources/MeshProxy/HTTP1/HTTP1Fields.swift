import MeshHTTP2
import NIOCore
import NIOHTTP1

/// What the request and response parsers share: the version token, turning a scanned field block
/// into byte fields (heads) or `HTTPHeaders` (trailers), and reading trailers.
enum HTTP1Fields {
    /// `HTTP/1.0` or `HTTP/1.1` filling `bytes[from..<to]`; another well-formed version is
    /// `unsupportedVersion`, anything else `malformed`.
    static func version(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, malformed: HTTP1ParseError) throws -> HTTPVersion {
        guard to - from == 8,
              bytes[from] == UInt8(ascii: "H"), bytes[from + 1] == UInt8(ascii: "T"), bytes[from + 2] == UInt8(ascii: "T"),
              bytes[from + 3] == UInt8(ascii: "P"), bytes[from + 4] == UInt8(ascii: "/"), bytes[from + 6] == UInt8(ascii: ".")
        else { throw malformed }
        let major = bytes[from + 5] &- UInt8(ascii: "0")
        let minor = bytes[from + 7] &- UInt8(ascii: "0")
        guard major < 10, minor < 10 else { throw malformed }
        guard major == 1, minor <= 1 else { throw HTTP1ParseError.unsupportedVersion }
        return minor == 1 ? .http1_1 : .http1_0
    }

    /// Trailer fields as `HTTPHeaders`, in order, names as sent.
    static func trailers(_ block: HTTP1FieldBlock, _ bytes: UnsafeRawBufferPointer) -> HTTPHeaders {
        var list: [(String, String)] = []
        list.reserveCapacity(block.fields.count)
        for field in block.fields {
            list.append((string(bytes, field.nameStart, field.nameLength), string(bytes, field.valueStart, field.valueLength)))
        }
        return HTTPHeaders(list)
    }

    /// The block's fields as byte fields (one copy of their bytes, no strings), in order, names as
    /// sent. An HTTP/1.1 message's lone `Connection: keep-alive` is left out: it says what HTTP/1.1
    /// means anyway, names no other field, and is hop-by-hop, so the exchange would only spend a
    /// rebuild of the fields on removing it (Envoy, too, strips connection fields before routing).
    /// `extraBytes` and `extraFields` reserve room for what the proxy adds before forwarding them,
    /// so that adds no allocation.
    static func fields(
        _ block: HTTP1FieldBlock, _ bytes: UnsafeRawBufferPointer, version: HTTPVersion?, extraBytes: Int = 160, extraFields: Int = 6
    ) -> HeaderFields {
        var none: HeaderFields? = nil
        return fields(block, bytes, version: version, reusing: &none, extraBytes: extraBytes, extraFields: extraFields)
    }

    /// The same, written into `spare`'s storage when there is one (taken: `spare` is nil after).
    /// The block's records have `HeaderFields`' record layout (offsets from the block's first
    /// byte), so the fields are made with two copies, the records and the block's bytes up to the
    /// last value, rather than one append per field.
    static func fields(
        _ block: HTTP1FieldBlock, _ bytes: UnsafeRawBufferPointer, version: HTTPVersion?, reusing spare: inout HeaderFields?,
        extraBytes: Int = 160, extraFields: Int = 6
    ) -> HeaderFields {
        var skipped = version == .http1_1 ? block.keepAliveOnlyField : nil
        var count = block.fields.count
        // The usual place of the left-out field is the last: then it is simply not copied.
        if let index = skipped, index == count - 1 {
            count -= 1
            skipped = nil
        }
        let last = count > 0 ? block.fields[count - 1] : nil
        let byteCount = last.map { $0.valueStart + $0.valueLength } ?? 0
        var fields = block.fields.withUnsafeBytes { records -> HeaderFields in
            guard count > 0, let recordBase = records.baseAddress, let byteBase = bytes.baseAddress else {
                guard var reused = spare.take() else { return HeaderFields(byteCapacity: extraBytes, fieldCapacity: extraFields) }
                reused.removeAll()
                return reused
            }
            if var reused = spare.take(),
                reused.refill(
                    records: recordBase, count: count, bytes: byteBase, byteCount: byteCount, spareFields: extraFields, spareBytes: extraBytes)
            {
                return reused
            }
            return HeaderFields(
                records: recordBase, count: count, bytes: byteBase, byteCount: byteCount, spareFields: extraFields, spareBytes: extraBytes)
        }
        if let skipped { fields.remove(at: skipped) }
        return fields
    }

    @inline(__always)
    static func string(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)]), as: UTF8.self)
    }

    /// Trailer fields after a last chunk, up to the final empty line; nil until it arrived.
    /// `block` must have been reset for trailers.
    static func readTrailers(_ block: inout HTTP1FieldBlock, from buffer: inout ByteBuffer, limits: HTTP1Limits) throws -> HTTPHeaders? {
        let found = try buffer.withUnsafeReadableBytes { bytes -> (HTTPHeaders, Int)? in
            switch try block.scan(bytes, limits: limits) {
            case .needMoreData, .startLine:
                return nil
            case .complete(let length):
                return (block.fields.isEmpty ? HTTPHeaders() : trailers(block, bytes), length)
            }
        }
        guard let (trailers, length) = found else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        return trailers
    }
}
