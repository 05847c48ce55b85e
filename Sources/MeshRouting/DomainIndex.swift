/// Exact virtual host domains (`reviews`, `reviews:9080`, …) to route tables, looked up
/// case-insensitively straight from the authority's bytes: an open-addressing table with FNV-1a
/// over lower-cased bytes, so a lookup neither allocates (no lower-cased copy) nor pays for
/// SipHash. Built once; Sendable because nothing is written after `init`.
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

    /// FNV-1a over ASCII-lower-cased bytes.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(asciiLowercased(byte))
            hash = hash &* 0x100_0000_01b3
        }
        return hash
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
                if authority.hasPrefix(key, ignoringCase: true) { return Int(slot.table) }
            }
            i = (i + 1) & mask
        }
    }
}
