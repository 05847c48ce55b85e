/// `x-request-id` values: random UUID v4 text, as Envoy generates when a request has none.
enum RequestID {
    static func make(using random: inout FastRandom) -> String {
        var high = random.next()
        var low = random.next()
        // Version 4 and the RFC 4122 variant bits.
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
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
}
