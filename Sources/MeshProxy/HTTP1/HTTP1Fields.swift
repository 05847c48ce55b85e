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
    static func fields(
        _ block: HTTP1FieldBlock, _ bytes: UnsafeRawBufferPointer, version: HTTPVersion?, reusing spare: inout HeaderFields?,
        extraBytes: Int = 160, extraFields: Int = 6
    ) -> HeaderFields {
        let skipped = version == .http1_1 ? block.keepAliveOnlyField : nil
        var fields: HeaderFields
        if let taken = spare {
            spare = nil
            fields = taken
            fields.removeAll()
        } else {
            fields = HeaderFields(byteCapacity: block.countedBytes + extraBytes, fieldCapacity: block.fields.count + extraFields)
        }
        for (index, field) in block.fields.enumerated() where index != skipped {
            fields.append(
                name: UnsafeRawBufferPointer(rebasing: bytes[field.nameStart..<(field.nameStart + field.nameLength)]),
                value: UnsafeRawBufferPointer(rebasing: bytes[field.valueStart..<(field.valueStart + field.valueLength)]))
        }
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
