import MeshHTTP2

/// `x-request-id` values: random UUID v4 text, as Envoy generates when a request has none.
enum RequestID {
    static func make(using random: inout FastRandom) -> String {
        draw(using: &random).text
    }

    /// A new id's 128 bits (two draws from `random`), made text only where text is needed.
    static func draw(using random: inout FastRandom) -> RequestIDValue {
        var high = random.next()
        var low = random.next()
        // Version 4 and the RFC 4122 variant bits.
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return .drawn(high: high, low: low)
    }

    /// The UUID text (36 bytes) of `high` and `low` written to `buffer`; returns 36.
    static func format(high: UInt64, low: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
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

/// A request's `x-request-id`: the client's value, or one the proxy drew, kept as its bits and
/// written as text straight into the forwarded fields (a 36-byte string cost an allocation per
/// request; only the access log wants one).
enum RequestIDValue: Equatable, ExpressibleByStringLiteral {
    case text(String)
    case drawn(high: UInt64, low: UInt64)

    init(stringLiteral value: String) {
        self = .text(value)
    }

    var text: String {
        switch self {
        case .text(let text):
            return text
        case .drawn(let high, let low):
            return String(unsafeUninitializedCapacity: 36) { RequestID.format(high: high, low: low, into: $0) }
        }
    }

    /// Appends the field `x-request-id` with this value to `fields`.
    func append(to fields: inout HeaderFields) {
        let name: StaticString = "x-request-id"
        let nameBytes = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        switch self {
        case .text(let text):
            var text = text
            text.withUTF8 { fields.append(name: nameBytes, value: UnsafeRawBufferPointer($0)) }
        case .drawn(let high, let low):
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { buffer in
                let count = RequestID.format(high: high, low: low, into: buffer)
                fields.append(name: nameBytes, value: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
            }
        }
    }
}
