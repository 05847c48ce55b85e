import Testing

@testable import MeshProxy

@Suite struct RequestIDTests {
    @Test func requestIDsAreVersion4UUIDsInLowerCaseHex() {
        var random = FastRandom(seed: 42)
        var seen = Set<String>()
        for _ in 0..<1_000 {
            let id = RequestID(using: &random).text
            let groups = id.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.utf8.allSatisfy { ("0"..."9").contains(Character(UnicodeScalar($0))) || ("a"..."f").contains(Character(UnicodeScalar($0))) || $0 == UInt8(ascii: "-") }, "\(id)")
            #expect(groups[2].first == "4", "version nibble of \(id)")
            #expect(groups[3].first.map { "89ab".contains($0) } == true, "variant nibble of \(id)")
            seen.insert(id)
        }
        #expect(seen.count == 1_000)
    }

    /// The text is the 128 bits in hex, 8-4-4-4-12, as a plain formatter writes them.
    @Test func textIsTheBitsInHex() {
        func hex(_ value: UInt64, digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: digits - text.count) + text
        }
        var random = FastRandom(seed: 7)
        let drawn = (0..<1_000).map { _ in RequestID(using: &random) }
        for id in drawn {
            let expected = [
                hex(id.high >> 32, digits: 8), hex((id.high >> 16) & 0xFFFF, digits: 4), hex(id.high & 0xFFFF, digits: 4),
                hex(id.low >> 48, digits: 4), hex(id.low & 0xFFFF_FFFF_FFFF, digits: 12),
            ].joined(separator: "-")
            #expect(id.text == expected)
            #expect(id.withUTF8 { String(decoding: $0, as: UTF8.self) } == expected)
        }
        // Every digit value appears (the letters' offset is right for each of a to f).
        #expect(Set(drawn.map(\.text).joined()) == Set("0123456789abcdef-"))
    }
}
