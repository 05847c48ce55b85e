import MeshBytes

/// Exact virtual host domains (`reviews`, `reviews:9080`, …) to route tables, looked up
/// case-insensitively straight from the authority's bytes: an open-addressing table whose hash
/// and key comparison read eight ASCII-lower-cased bytes at a time (`CaseFoldedWords`), so a
/// lookup neither allocates (no lower-cased copy) nor pays for SipHash or a byte-by-byte loop.
/// Built once; Sendable because nothing is written after `init`.
final class DomainIndex: @unchecked Sendable {
    private struct Slot {
        var hash: UInt64
        var keyOffset: Int32
        var keyLength: Int32
        /// -1: empty.
        var table: Int32
    }

    private let slots: UnsafeMutableBufferPointer<Slot>
    private let keys: UnsafeMutableBufferPointer<UInt8>
    private let mask: Int

    /// `domains` keys must be lower-case already.
    init(_ domains: [String: Int]) {
        var capacity = 8
        while capacity < domains.count * 2 { capacity *= 2 }
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, keyOffset: 0, keyLength: 0, table: -1))
        var pool: [UInt8] = []
        var entries: [(hash: UInt64, offset: Int32, length: Int32, table: Int32)] = []
        for (domain, table) in domains.sorted(by: { $0.key < $1.key }) {
            let bytes = Array(domain.utf8)
            let hash = bytes.withUnsafeBufferPointer(DomainIndex.hash)
            entries.append((hash, Int32(pool.count), Int32(bytes.count), Int32(table)))
            pool += bytes
        }
        keys = .allocate(capacity: max(1, pool.count))
        _ = keys.initialize(from: pool)
        for entry in entries {
            var i = Int(truncatingIfNeeded: entry.hash) & mask
            while slots[i].table >= 0 { i = (i + 1) & mask }
            slots[i] = Slot(hash: entry.hash, keyOffset: entry.offset, keyLength: entry.length, table: entry.table)
        }
    }

    deinit {
        slots.deallocate()
        keys.deallocate()
    }

    /// A multiply-rotate hash over the ASCII-lower-cased words of `bytes`: a few multiplies for an
    /// authority, where FNV-1a's one per byte made a chain of 20 or so dependent multiplies.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash = UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15
        let words = CaseFoldedWords(bytes)
        var k = 0
        while k < words.count {
            hash = ((hash &<< 5) | (hash &>> 59)) ^ words.lowercased(k)
            hash = hash &* 0x517C_C1B7_2722_0A95
            k += 1
        }
        // Mixed down, so the low bits the table index uses depend on every word.
        hash ^= hash &>> 33
        hash = hash &* 0xFF51_AFD7_ED55_8CCD
        return hash ^ (hash &>> 33)
    }

    @inline(__always)
    func table(for authority: UnsafeBufferPointer<UInt8>) -> Int? {
        let hash = DomainIndex.hash(authority)
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            if slot.table < 0 { return nil }
            if slot.hash == hash && Int(slot.keyLength) == authority.count {
                let key = UnsafeBufferPointer(rebasing: keys[Int(slot.keyOffset)..<Int(slot.keyOffset + slot.keyLength)])
                if CaseFoldedWords(authority).equalsLowercased(CaseFoldedWords(key)) { return Int(slot.table) }
            }
            i = (i + 1) & mask
        }
    }
}

/// A byte string read as 64-bit words, for hashing and comparing eight bytes at a time. Word
/// `k` is the eight bytes at `8k`, the last one ending at the last byte (overlapping the one
/// before it); a string of fewer than eight bytes is one word made of its bytes (4-7: two
/// overlapping 32-bit reads; 1-3: the first, middle and last byte). So two strings of the same
/// length are equal exactly when all their words are, and every read stays inside the string.
struct CaseFoldedWords {
    let base: UnsafeRawPointer?
    let byteCount: Int

    @inline(__always)
    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        base = bytes.baseAddress.map(UnsafeRawPointer.init)
        byteCount = base == nil ? 0 : bytes.count
    }

    @inline(__always)
    var count: Int { (byteCount &+ 7) &>> 3 }

    /// Word `k` as stored.
    @inline(__always)
    func word(_ k: Int) -> UInt64 {
        guard let base else { return 0 }
        if byteCount >= 8 { return base.loadUnaligned(fromByteOffset: min(k &<< 3, byteCount &- 8), as: UInt64.self) }
        if byteCount >= 4 {
            return UInt64(base.loadUnaligned(as: UInt32.self)) | UInt64(base.loadUnaligned(fromByteOffset: byteCount &- 4, as: UInt32.self)) &<< 32
        }
        return UInt64(base.load(as: UInt8.self)) | UInt64(base.load(fromByteOffset: byteCount &>> 1, as: UInt8.self)) &<< 8
            | UInt64(base.load(fromByteOffset: byteCount &- 1, as: UInt8.self)) &<< 16
    }

    /// Word `k` with its ASCII capitals lower-cased (other bytes, UTF-8 ones included, as they are).
    @inline(__always)
    func lowercased(_ k: Int) -> UInt64 { ASCIIWord.lowercased(word(k)) }

    /// Whether these bytes, ASCII-lower-cased, are `lowercaseKey`'s (which is lower-case already).
    @inline(__always)
    func equalsLowercased(_ lowercaseKey: CaseFoldedWords) -> Bool {
        guard byteCount == lowercaseKey.byteCount else { return false }
        var k = 0
        while k < count {
            if lowercased(k) != lowercaseKey.word(k) { return false }
            k += 1
        }
        return true
    }
}
