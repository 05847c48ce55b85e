import Testing

@testable import MeshHTTP2

/// `ShortCopy` copies exactly `count` bytes, whatever their number and alignment, and touches
/// nothing around them.
@Suite struct ShortCopyTests {
    @Test func copiesExactlyTheBytesAskedForAtAnyAlignment() {
        let source = (0..<80).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for count in 0...70 {
            for offset in 0..<3 {
                var destination = [UInt8](repeating: 0xEE, count: 80)
                source.withUnsafeBytes { from in
                    destination.withUnsafeMutableBytes { to in
                        ShortCopy.copy(from.baseAddress! + offset, to: to.baseAddress! + 1 + offset, count: count)
                    }
                }
                let expected = [UInt8](repeating: 0xEE, count: 1 + offset) + source[offset..<(offset + count)]
                    + [UInt8](repeating: 0xEE, count: 80 - 1 - offset - count)
                #expect(destination == expected, "count \(count), offset \(offset)")
            }
        }
    }
}
