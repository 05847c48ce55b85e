import MeshHTTP2
import NIOCore
import NIOHTTP1

extension ByteBuffer {
    /// Writes `name: value` CRLF for every field, then the empty line that ends the block: one
    /// pass over the fields (each access to an `HTTPHeaders` element retains both strings), one
    /// reserved copy per field rather than four checked writes.
    mutating func writeHTTP1Fields(_ headers: HTTPHeaders) {
        for (name, value) in headers { writeHTTP1Field(name: name, value: value) }
        writeStaticString("\r\n")
    }

    /// The same for byte fields: one reservation for the whole block, then a copy per name and
    /// value (no strings, no reference counting per field).
    mutating func writeHTTP1Fields(_ fields: HeaderFields) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: fields.http1LineBytes + 2) { out in
            guard let base = out.baseAddress else { return 0 }
            var offset = 0
            fields.forEachField { name, value in offset = Self.storeFieldLine(name: name, value: value, into: base, at: offset) }
            base.storeBytes(of: HTTP1Bytes.cr, toByteOffset: offset, as: UInt8.self)
            base.storeBytes(of: HTTP1Bytes.lf, toByteOffset: offset + 1, as: UInt8.self)
            return offset + 2
        }
    }

    /// Writes one `name: value` CRLF line.
    @inline(__always)
    mutating func writeHTTP1Field(name: String, value: String) {
        let size = name.utf8.count + value.utf8.count + 4
        writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            var offset = Self.copyUTF8(name, into: out, at: 0)
            out[offset] = UInt8(ascii: ":")
            out[offset + 1] = UInt8(ascii: " ")
            offset = Self.copyUTF8(value, into: out, at: offset + 2)
            out[offset] = HTTP1Bytes.cr
            out[offset + 1] = HTTP1Bytes.lf
            return offset + 2
        }
    }

    /// Writes one `name: value` CRLF line from bytes.
    @inline(__always)
    mutating func writeHTTP1Field(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: name.count + value.count + 4) { out in
            guard let base = out.baseAddress else { return 0 }
            return Self.storeFieldLine(name: name, value: value, into: base, at: 0)
        }
    }

    /// Stores `name: value` CRLF at `base + offset` (room is known to be there); returns the end.
    @inline(__always)
    fileprivate static func storeFieldLine(
        name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into base: UnsafeMutableRawPointer, at start: Int
    ) -> Int {
        var offset = start
        if let source = name.baseAddress { (base + offset).copyMemory(from: source, byteCount: name.count) }
        offset += name.count
        base.storeBytes(of: UInt8(ascii: ":"), toByteOffset: offset, as: UInt8.self)
        base.storeBytes(of: UInt8(ascii: " "), toByteOffset: offset + 1, as: UInt8.self)
        offset += 2
        if let source = value.baseAddress { (base + offset).copyMemory(from: source, byteCount: value.count) }
        offset += value.count
        base.storeBytes(of: HTTP1Bytes.cr, toByteOffset: offset, as: UInt8.self)
        base.storeBytes(of: HTTP1Bytes.lf, toByteOffset: offset + 1, as: UInt8.self)
        return offset + 2
    }

    /// Copies `text`'s UTF-8 into `out` at `offset` (room is known to be there); returns the end.
    @inline(__always)
    private static func copyUTF8(_ text: String, into out: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let copied = text.utf8.withContiguousStorageIfAvailable { source -> Int in
            guard let from = source.baseAddress, let to = out.baseAddress else { return 0 }
            (to + offset).copyMemory(from: from, byteCount: source.count)
            return source.count
        }
        if let copied { return offset + copied }
        var index = offset
        for byte in text.utf8 {
            out[index] = byte
            index += 1
        }
        return index
    }
}

/// `name: value` CRLF lines stored straight into memory reserved for all of them beforehand (the
/// caller knows a bound on their size): no capacity or uniqueness check per line, as a
/// `ByteBuffer` write makes. A line past the reservation stops the process rather than write
/// beyond it.
struct HTTP1LineSink: ForwardedFieldSink {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    /// Bytes stored so far.
    private(set) var count = 0

    init(_ memory: UnsafeMutableRawBufferPointer) {
        base = memory.baseAddress!
        capacity = memory.count
    }

    mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        precondition(count + name.count + value.count + 4 <= capacity, "HTTP1LineSink: a line past the reserved bytes")
        count = ByteBuffer.storeFieldLine(name: name, value: value, into: base, at: count)
    }

    mutating func appendField(name: String, value: String) {
        var name = name
        var value = value
        name.withUTF8 { name in
            value.withUTF8 { value in appendField(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value)) }
        }
    }

    /// A constant line (`transfer-encoding: chunked` CRLF).
    mutating func appendLine(_ line: StaticString) {
        precondition(count + line.utf8CodeUnitCount <= capacity, "HTTP1LineSink: a line past the reserved bytes")
        (base + count).copyMemory(from: line.utf8Start, byteCount: line.utf8CodeUnitCount)
        count += line.utf8CodeUnitCount
    }
}
