/// ASCII case folding eight bytes at a time, for the layers that compare, hash or copy header
/// names and hosts on the request path: MeshRouting's domain index and MeshHTTP2's field copies.
public enum ASCIIWord {
    /// The eight bytes of `word` with each of `A`...`Z` made lower-case, with no branch and no
    /// carry between bytes: a byte is a capital when its low seven bits are at least 0x41 and
    /// below 0x5B and its top bit is clear (adding 0x3F and 0x25 to the seven bits carries into
    /// the top bit exactly at those bounds, never further); bit 5 of each capital is then set.
    @inlinable @inline(__always)
    public static func lowercased(_ word: UInt64) -> UInt64 {
        let lowBits = word & 0x7F7F_7F7F_7F7F_7F7F
        let fromA = lowBits &+ 0x3F3F_3F3F_3F3F_3F3F
        let pastZ = lowBits &+ 0x2525_2525_2525_2525
        let capitals = fromA & ~pastZ & ~word & 0x8080_8080_8080_8080
        return word | (capitals &>> 2)
    }
}
