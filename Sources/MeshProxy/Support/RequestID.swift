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
        var i = 0
        func put(_ value: UInt64, nibbles: Int, shift: Int) {
            for n in stride(from: nibbles - 1, through: 0, by: -1) {
                let nibble = UInt8(truncatingIfNeeded: value >> UInt64(shift + n * 4)) & 0xF
                // Arithmetic rather than a table: a static array costs a `swift_once` per use.
                buffer[i] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
                i += 1
            }
        }
        put(high, nibbles: 8, shift: 32); buffer[i] = UInt8(ascii: "-"); i += 1
        put(high, nibbles: 4, shift: 16); buffer[i] = UInt8(ascii: "-"); i += 1
        put(high, nibbles: 4, shift: 0); buffer[i] = UInt8(ascii: "-"); i += 1
        put(low, nibbles: 4, shift: 48); buffer[i] = UInt8(ascii: "-"); i += 1
        put(low, nibbles: 12, shift: 0)
        return i
    }
}

extension RequestID {
    /// An `x-request-id` to forward: given as text (a string literal is one), or drawn by the
    /// proxy and written from its bits.
    enum Forwarded: ExpressibleByStringLiteral {
        case text(String)
        case drawn(RequestID)

        init(stringLiteral value: String) {
            self = .text(value)
        }
    }
}
