import Testing

@testable import MeshHTTP2

/// HTTP2StreamTable against a Dictionary doing the same operations.
@Suite struct StreamTableTests {
    @Test func behavesLikeADictionaryUnderRisingIds() {
        var table = HTTP2StreamTable<String>()
        var model: [Int32: String] = [:]
        var generator = SplitMix(seed: 7)
        var nextID: Int32 = 1
        var open: [Int32] = []
        // One long-lived stream stays open throughout, so holes pile up behind it.
        table[nextID] = "long-lived"
        model[nextID] = "long-lived"
        nextID += 2
        for step in 0..<20_000 {
            if open.count < 100 && (open.isEmpty || generator.next() % 3 != 0) {
                table[nextID] = "s\(nextID)"
                model[nextID] = "s\(nextID)"
                open.append(nextID)
                nextID += 2
            } else {
                // Streams mostly finish in order, sometimes out of it.
                let pick = generator.next() % 4 == 0 ? Int(generator.next() % UInt64(open.count)) : 0
                let id = open.remove(at: pick)
                #expect(table.removeValue(forKey: id) == model.removeValue(forKey: id))
            }
            if step % 97 == 0 {
                let probe = Int32(truncatingIfNeeded: generator.next() % UInt64(nextID + 4))
                #expect(table[probe] == model[probe], "lookup \(probe) at step \(step)")
                #expect(table.removeValue(forKey: nextID + 2) == nil)
            }
            #expect(table.count == model.count)
        }
        #expect(table.values == model.keys.sorted().compactMap { model[$0] })
        #expect(table[HTTP2StreamID(1)] == "long-lived")
        // The holes behind the long-lived stream were compacted away: storage stays near the
        // number of open streams instead of the number of streams ever opened.
        #expect(table.slots.count <= 4 * (table.count + 64), "\(table.slots.count) slots for \(table.count) streams")
    }

    @Test func outOfOrderInsertionsAndRemoveAll() {
        var table = HTTP2StreamTable<Int>()
        for id: Int32 in [9, 3, 7, 1, 5] { table[id] = Int(id) }
        #expect(table.values == [1, 3, 5, 7, 9])
        table[7] = nil
        #expect(table[7] == nil && table.count == 4)
        table[3] = 33
        #expect(table[3] == 33 && table.count == 4)
        table.removeAll()
        #expect(table.isEmpty && table[1] == nil && table.values.isEmpty)
        table[11] = 11
        #expect(table.values == [11])
    }

    /// Emptied tables reuse their entries past `end` (stale ids, nil slots) for later streams,
    /// including an insertion below the newest id.
    @Test func reusesEntriesAfterEmptying() {
        var table = HTTP2StreamTable<String>()
        for round in 0..<3 {
            let base = Int32(round * 100)
            for offset: Int32 in [1, 3, 5, 7] { table[base + offset] = "r\(round)-\(offset)" }
            #expect(table.values == ["r\(round)-1", "r\(round)-3", "r\(round)-5", "r\(round)-7"])
            #expect(table.removeValue(forKey: base + 5) == "r\(round)-5")
            #expect(table[base + 5] == nil && table[base + 7] == "r\(round)-7")
            for offset: Int32 in [1, 3, 7] { #expect(table.removeValue(forKey: base + offset) == "r\(round)-\(offset)") }
            #expect(table.isEmpty && table.values.isEmpty && table[base + 1] == nil)
        }
        // Two entries into emptied storage of four, then one below the newest id.
        table[401] = "a"
        table[405] = "c"
        table[403] = "b"
        #expect(table.values == ["a", "b", "c"] && table.count == 3)
        #expect(table[403] == "b" && table[407] == nil)
    }
}

/// A small seeded generator, so a failure reproduces.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
