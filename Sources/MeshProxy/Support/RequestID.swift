/// `x-request-id` values: random UUID v4 text, as Envoy generates when a request has none. Kept
/// as its 128 bits until written: the text goes straight into the forwarded head's bytes, and a
/// string of it (36 bytes: a heap allocation) is made only when something asks for one (the
/// access log).
struct RequestID: Equatable {
    let high: UInt64
    let low: UInt64

    /// The UUID's length as text.
    static let textLength = 36

    /// Draws a random one (two draws on `random`).
    init(using random: inout FastRandom) {
        let high = random.next()
        let low = random.next()
        // Version 4 and the RFC 4122 variant bits.
        self.high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        self.low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
    }

    var text: String {
        String(unsafeUninitializedCapacity: Self.textLength) { buffer in write(into: UnsafeMutableRawBufferPointer(buffer)) }
    }

    /// Calls `body` with the text's bytes (on the stack, valid only during the call).
    func withUTF8<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeTemporaryAllocation(byteCount: Self.textLength, alignment: 1) { buffer in
            let count = write(into: buffer)
            return try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// Writes the lower-case hex text into `buffer` (room for `textLength` bytes); returns its length.
    private func write(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        // 8-4-4-4-12 digits: the high word's top half, then its low half split 4-4, the low
        // word's top half split 4-4 (the last group's start), then its low half.
        let top = Self.hexDigits(UInt32(truncatingIfNeeded: high >> 32))
        let second = Self.hexDigits(UInt32(truncatingIfNeeded: high))
        let third = Self.hexDigits(UInt32(truncatingIfNeeded: low >> 32))
        let last = Self.hexDigits(UInt32(truncatingIfNeeded: low))
        let dash = UInt8(ascii: "-")
        buffer.storeBytes(of: top.littleEndian, toByteOffset: 0, as: UInt64.self)
        buffer[8] = dash
        buffer.storeBytes(of: UInt32(truncatingIfNeeded: second).littleEndian, toByteOffset: 9, as: UInt32.self)
        buffer[13] = dash
        buffer.storeBytes(of: UInt32(truncatingIfNeeded: second >> 32).littleEndian, toByteOffset: 14, as: UInt32.self)
        buffer[18] = dash
        buffer.storeBytes(of: UInt32(truncatingIfNeeded: third).littleEndian, toByteOffset: 19, as: UInt32.self)
        buffer[23] = dash
        buffer.storeBytes(of: UInt32(truncatingIfNeeded: third >> 32).littleEndian, toByteOffset: 24, as: UInt32.self)
        buffer.storeBytes(of: last.littleEndian, toByteOffset: 28, as: UInt64.self)
        return Self.textLength
    }

    /// `value`'s eight lower-case hex digits, most significant first, as the bytes of a
    /// little-endian `UInt64`: all eight at once (one nibble per byte, then '0' or 'a' - 10
    /// added per byte; no byte carries into the next), where a digit at a time cost a loop of 32
    /// steps per request.
    @inline(__always)
    static func hexDigits(_ value: UInt32) -> UInt64 {
        var nibbles = UInt64(value)
        nibbles = (nibbles | nibbles << 16) & 0x0000_FFFF_0000_FFFF
        nibbles = (nibbles | nibbles << 8) & 0x00FF_00FF_00FF_00FF
        nibbles = (nibbles | nibbles << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // Byte k now holds nibble k (least significant first). 1 in each byte whose nibble is 10 or more.
        let letters = ((nibbles &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        let digits = nibbles &+ 0x3030_3030_3030_3030 &+ letters &* UInt64(UInt8(ascii: "a") - UInt8(ascii: "0") - 10)
        // The most significant digit first in memory.
        return digits.byteSwapped
    }
}

extension RequestID {
    /// An `x-request-id` to forward: given as text (a string literal is one), or drawn by the
    /// proxy and written from its bits.
    enum Forwarded: ExpressibleByStringLiteral {
        case text(String)
        case drawn(RequestID)
        /// `.text("")` without a string: what the exchange passes when the client sent its own
        /// id (nothing is written then; `.text("")` cost a release per request, of its payload).
        case empty

        init(stringLiteral value: String) {
            self = .text(value)
        }
    }
}
