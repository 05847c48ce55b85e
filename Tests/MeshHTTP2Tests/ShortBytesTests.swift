import Testing

@testable import MeshHTTP2

/// `ShortBytes` copies (and lower-cases) with overlapping word loads and stores: every length
/// around the word sizes must come out byte for byte as a plain loop makes it, and no byte
/// before or after the destination range may be touched.
@Suite struct ShortBytesTests {
    static func reference(_ bytes: [UInt8], lowercase: Bool) -> [UInt8] {
        bytes.map { lowercase && $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
    }

    /// Every byte value appears, letters of both cases, `@`, `[`, and bytes with the top bit set
    /// (0xc1 is `A` with it, 0xda `Z`): only `A`...`Z` change.
    static func source(count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 37 &+ seed &* 101) ^ ($0 >> 3)) }
    }

    @Test(arguments: [false, true])
    func everyLengthCopiesExactly(lowercase: Bool) {
        for count in 0...80 {
            for seed in 0..<8 {
                let input = Self.source(count: count, seed: seed)
                var output = [UInt8](repeating: 0xee, count: count + 16)
                input.withUnsafeBufferPointer { from in
                    output.withUnsafeMutableBufferPointer { to in
                        let start = to.baseAddress! + 8
                        let source = from.baseAddress ?? UnsafePointer(start)
                        if lowercase {
                            ShortBytes.copyLowercased(start, from: source, count: count)
                        } else {
                            ShortBytes.copy(start, from: source, count: count)
                        }
                    }
                }
                #expect(Array(output[8..<(8 + count)]) == Self.reference(input, lowercase: lowercase), "count \(count)")
                #expect(output[0..<8].allSatisfy { $0 == 0xee } && output[(8 + count)...].allSatisfy { $0 == 0xee })
            }
        }
    }

    /// Lower-cased where they lie (source and destination the same bytes), every length.
    @Test func everyLengthLowercasesInPlace() {
        for count in 0...80 {
            for seed in 0..<8 {
                let input = Self.source(count: count, seed: seed)
                var buffer = [UInt8](repeating: 0xee, count: 8) + input + [UInt8](repeating: 0xee, count: 8)
                buffer.withUnsafeMutableBufferPointer { ShortBytes.lowercaseInPlace($0.baseAddress! + 8, count: count) }
                #expect(Array(buffer[8..<(8 + count)]) == Self.reference(input, lowercase: true), "count \(count)")
                #expect(buffer[0..<8].allSatisfy { $0 == 0xee } && buffer[(8 + count)...].allSatisfy { $0 == 0xee })
            }
        }
    }

    @Test func lowercasesOnlyAsciiLetters() {
        let all = (0...255).map { UInt8($0) }
        var output = [UInt8](repeating: 0, count: all.count)
        all.withUnsafeBufferPointer { from in
            output.withUnsafeMutableBufferPointer { ShortBytes.copyLowercased($0.baseAddress!, from: from.baseAddress!, count: all.count) }
        }
        #expect(output == Self.reference(all, lowercase: true))
    }
}

extension ShortBytesTests {
    /// Equal runs of every length compare equal; one differing byte anywhere makes them differ.
    @Test func equalFindsEveryDifference() {
        for count in 0...80 {
            let one = Self.source(count: count, seed: 3) + [0]  // Never empty: pointers for count 0.
            var other = one
            #expect(Self.equal(one, other, count: count), "count \(count)")
            for position in 0..<count {
                other[position] ^= 0x40
                #expect(!Self.equal(one, other, count: count), "count \(count), byte \(position)")
                other[position] ^= 0x40
            }
        }
    }

    static func equal(_ one: [UInt8], _ other: [UInt8], count: Int) -> Bool {
        one.withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in ShortBytes.equal(a.baseAddress!, b.baseAddress!, count: count) }
        }
    }
}
