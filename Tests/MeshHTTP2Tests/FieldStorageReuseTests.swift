import Testing

@testable import MeshHTTP2

/// A response head's fields handed back by the application (`HTTP2ClientConnection.reuseFieldStorage`)
/// are the storage the next head is written into: the head must come out the same as in a new
/// allocation, and the storage must really be the one handed back.
@Suite struct FieldStorageReuseTests {
    static func fill(_ scratch: InboundFieldScratch, _ pairs: [(String, String)]) {
        for (name, value) in pairs {
            Array(name.utf8).withUnsafeBufferPointer { nameBytes in
                Array(value.utf8).withUnsafeBufferPointer { valueBytes in scratch.append(name: nameBytes, value: valueBytes) }
            }
        }
    }

    static func base(_ fields: HeaderFields) -> UnsafeRawPointer? {
        fields.storage.withUnsafeBytes { $0.baseAddress }
    }

    @Test func aHeadWrittenIntoHandedBackStorageEqualsANewOne() {
        let scratch = InboundFieldScratch()
        var none: HeaderFields? = nil
        Self.fill(scratch, [("content-type", "text/plain"), ("x-a", "1"), ("x-b", "2")])
        let first = scratch.take(reusing: &none)
        let firstStorage = Self.base(first)
        let second = [("server", "pod"), ("content-length", "12")]

        var spare: HeaderFields? = consume first
        Self.fill(scratch, second)
        var reused = scratch.take(reusing: &spare)
        #expect(spare == nil)
        #expect(Self.base(reused) == firstStorage)
        Self.fill(scratch, second)
        let fresh = scratch.take(reusing: &none)
        #expect(reused == fresh)
        #expect(reused.first(name: "content-length") == "12")
        // The room the proxy adds its own fields in is there too.
        reused.append(name: "date", value: "Sat, 28 Nov 2026 00:00:00 GMT")
        #expect(reused.first(name: "date") == "Sat, 28 Nov 2026 00:00:00 GMT" && reused.first(name: "server") == "pod")
    }

    @Test func storageTooSmallForTheNextHeadIsNotUsed() {
        let scratch = InboundFieldScratch()
        var none: HeaderFields? = nil
        Self.fill(scratch, [("a", "1")])
        var spare: HeaderFields? = scratch.take(reusing: &none)
        let long = (0..<40).map { ("x-field-\($0)", String(repeating: "v", count: 30)) }
        Self.fill(scratch, long)
        let taken = scratch.take(reusing: &spare)
        #expect(spare == nil)
        #expect(taken.count == 40 && taken.first(name: "x-field-39") == String(repeating: "v", count: 30))
    }

    /// A new head's storage keeps room for six more fields (what the proxy adds), made from the
    /// scratch's own records area: appending them reuses the spare records, and every field
    /// reads back as written, also when the scratch grows for a large block (40) or for the
    /// spare records alone (28: 34 records where the scratch starts with room for 32).
    @Test(arguments: [3, 28, 40])
    func aNewHeadHasSpareRecordsForAddedFields(fieldCount: Int) {
        let scratch = InboundFieldScratch()
        var none: HeaderFields? = nil
        let pairs = (0..<fieldCount).map { ("x-field-\($0)", String(repeating: "v", count: $0 % 7)) }
        Self.fill(scratch, pairs)
        var fields = scratch.take(reusing: &none)
        let added = (0..<6).map { ("x-added-\($0)", "a\($0)") }
        for (name, value) in added { fields.append(name: name, value: value) }
        #expect(fields.recordCapacity == fieldCount + 6)
        #expect(fields.count == fieldCount + 6)
        let expected = pairs + added
        for index in 0..<fields.count {
            #expect(fields.name(at: index) == expected[index].0)
            #expect(fields.value(at: index) == expected[index].1)
        }
    }
}
