import Testing

@testable import MeshProxy

/// The byte classes the parsers rest on.
@Suite struct HTTP1BytesTests {
    /// The word-at-a-time check agrees with the byte rule for every byte value at every position.
    @Test func fieldValueCheckAgreesWithTheByteRuleEverywhere() {
        for length in [1, 7, 8, 9, 16, 21] {
            for position in 0..<length {
                for value in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = UInt8(value)
                    let fast = bytes.withUnsafeBytes { HTTP1Bytes.areFieldValueBytes($0, from: 0, to: length) }
                    let byByte = value == 9 || (value >= 0x20 && value != 0x7F)
                    #expect(fast == byByte, "byte \(value) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func tokenBytesAreRFC9110s() {
        let specials = Set("!#$%&'*+-.^_`|~".utf8)
        for value in 0...255 {
            let byte = UInt8(value)
            let expected = (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || specials.contains(byte)
            #expect(HTTP1Bytes.isToken(byte) == expected, "byte \(value)")
        }
    }
}
