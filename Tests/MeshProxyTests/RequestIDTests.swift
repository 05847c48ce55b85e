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
}
