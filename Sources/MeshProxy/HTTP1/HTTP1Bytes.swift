#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte classes and comparisons of HTTP/1.1 (RFC 9110 §5.6, RFC 9112), on raw bytes, without
/// allocating.
enum HTTP1Bytes {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")

    /// `tchar`: the bytes of a header name or a method. The two masks cover bytes 0–63 and
    /// 64–127; everything from 128 up is not a token byte.
    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool {
        // ! # $ % & ' * + - . 0-9
        let low: UInt64 = 0x03FF_6CFA_0000_0000
        // A-Z ^ _ ` a-z | ~
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        if byte < 64 { return (low >> UInt64(byte)) & 1 == 1 }
        if byte < 128 { return (high >> UInt64(byte - 64)) & 1 == 1 }
        return false
    }

    /// A byte allowed inside a field value: HTAB, SP, VCHAR and obs-text (no other control bytes).
    @inline(__always)
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= 0x20 && byte != 0x7F)
    }

    /// Whether every byte of `bytes[from..<to]` may appear in a field value, eight at a time: a
    /// word with no byte below 0x20 and none equal to 0x7F needs no closer look (bytes from 0x80
    /// up are obs-text, allowed); a word that has one is checked byte by byte (HTAB is allowed).
    static func areFieldValueBytes(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = from
        while index + 8 <= to {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let below20 = (word &- ones &* 0x20) & ~word & highs
            let delete = word ^ (ones &* 0x7F)
            let is7F = (delete &- ones) & ~delete & highs
            if below20 | is7F != 0 {
                for position in index..<(index + 8) where !isFieldValueByte(bytes[position]) { return false }
            }
            index += 8
        }
        while index < to {
            if !isFieldValueByte(bytes[index]) { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    /// The index of the first LF in `bytes[from...]`, or nil.
    @inline(__always)
    static func firstLF(in bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let found = memchr(base + from, Int32(lf), bytes.count - from) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// Whether `bytes[range]` equals `lowercase` ignoring ASCII case (`lowercase` is lower-case).
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int, _ lowercase: StaticString) -> Bool {
        guard count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for index in 0..<count {
            var byte = bytes[start + index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[index] { return false }
        }
        return true
    }

    /// Whether `text` equals `lowercase` ignoring ASCII case (`lowercase` is lower-case).
    @inline(__always)
    static func equalsIgnoringCase(_ text: String, _ lowercase: StaticString) -> Bool {
        guard text.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        var index = 0
        for var byte in text.utf8 {
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[index] { return false }
            index += 1
        }
        return true
    }

    /// The decimal value of `bytes[start..<start+count]`, or nil when it is empty, holds a
    /// non-digit, or does not fit (Content-Length).
    static func decimal(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> Int? {
        guard count > 0, count <= 18 else { return nil }
        var value = 0
        for index in start..<(start + count) {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// The value of a hex digit, or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}
