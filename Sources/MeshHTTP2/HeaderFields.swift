/// HTTP fields kept as bytes: every name and value in one contiguous byte storage, and per field
/// one record of offsets into it. The proxy path carries a head's fields this way from the parser
/// (or the HTTP/2 decoder) to the writer (or the HTTP/2 encoder) without making a `String` per
/// field: `HTTPHeaders` holds an array of string pairs, and each pass over it retains and
/// releases every string, which profiles showed as a large share of a proxied request's cost.
///
/// Records and bytes share one allocation (records first, then the bytes), so a head costs one
/// malloc; when the records' area fills up, the bytes move up to make room.
///
/// Names keep the case they arrived with (HTTP/1.1 forwards them as sent; the HTTP/2 encoder
/// lower-cases them while copying) and compare case-insensitively. Fields with the same name stay
/// separate and in order. Removing a field drops its record only; its bytes stay in the storage
/// until the value is dropped, which keeps removal cheap and the other offsets valid.
public struct HeaderFields: Sendable {
    /// `recordCapacity` records (four `Int`s each: name start, name length, value start, value
    /// length, offsets from the start of the byte area), then the names' and values' bytes.
    @usableFromInline var storage: [UInt8]
    @usableFromInline var recordCapacity: Int
    @usableFromInline var fieldCount: Int

    @usableFromInline static let recordSize = 4 * MemoryLayout<Int>.stride

    /// Where the bytes start in `storage`.
    @inlinable var byteAreaStart: Int { self.recordCapacity * Self.recordSize }

    /// Empty fields, with room reserved for `byteCapacity` bytes of names and values and
    /// `fieldCapacity` fields (both 0: nothing is allocated until the first field).
    public init(byteCapacity: Int = 0, fieldCapacity: Int = 0) {
        self.recordCapacity = max(fieldCapacity, 0)
        self.fieldCount = 0
        let recordBytes = self.recordCapacity * Self.recordSize
        let total = recordBytes + max(byteCapacity, 0)
        self.storage = Self.storage(capacity: total)
        // Records are written before they are read: zeroed only to count as the array's.
        Self.appendZeros(recordBytes, to: &self.storage)
    }

    /// Appends `count` zero bytes, copied from a zeroed stack area: appending
    /// `repeatElement(0, count:)` went byte by byte.
    @inline(__always)
    static func appendZeros(_ count: Int, to storage: inout [UInt8]) {
        guard count > 0 else { return }
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 16) { zeros in
            zeros.initializeMemory(as: UInt8.self, repeating: 0)
            storage.append(contentsOf: UnsafeRawBufferPointer(zeros))
        }
    }

    /// An empty byte array with room for `capacity` bytes (none allocated for 0). Through
    /// `reserveCapacity`, whose allocation is specialized here: `[UInt8](unsafeUninitializedCapacity:)`
    /// allocates in a generic standard-library function that looked up the array storage's type
    /// metadata on every call.
    @inline(__always)
    static func storage(capacity: Int) -> [UInt8] {
        var storage: [UInt8] = []
        if capacity > 0 { storage.reserveCapacity(capacity) }
        return storage
    }

    /// Fields assembled in one go from `count` records already in this type's layout (four `Int`s
    /// each, offsets from the byte area's start) and the `byteCount` bytes they point into, with
    /// room for `spareFields` more fields and `spareBytes` more bytes: one allocation, two copies.
    public init(
        records: UnsafeRawPointer, count: Int, bytes: UnsafeRawPointer, byteCount: Int, spareFields: Int, spareBytes: Int
    ) {
        self.recordCapacity = count + spareFields
        self.fieldCount = count
        let recordBytes = self.recordCapacity * Self.recordSize
        let filled = recordBytes + byteCount
        self.storage = Self.storage(capacity: filled + spareBytes)
        self.storage.append(contentsOf: UnsafeRawBufferPointer(start: records, count: count * Self.recordSize))
        // The spare records' area, written before it is read: zeroed only to count as the array's.
        Self.appendZeros(spareFields * Self.recordSize, to: &self.storage)
        self.storage.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: byteCount))
    }

    /// The same from records followed by `spareFields` zeroed ones (the caller's records area
    /// has room for them): the records copied with the spare ones in one append, where zeros were
    /// made and appended apart.
    init(
        records: UnsafeRawPointer, count: Int, zeroedSpareRecords spareFields: Int, bytes: UnsafeRawPointer, byteCount: Int,
        spareBytes: Int
    ) {
        self.recordCapacity = count + spareFields
        self.fieldCount = count
        let recordBytes = self.recordCapacity * Self.recordSize
        self.storage = Self.storage(capacity: recordBytes + byteCount + spareBytes)
        self.storage.append(contentsOf: UnsafeRawBufferPointer(start: records, count: recordBytes))
        self.storage.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: byteCount))
    }

    /// The same, written into this value's storage when it has room for all of it (then true; the
    /// fields it held are gone), else false and nothing changed: a head's storage reused for the
    /// next head, with no allocation. The records' area is kept as it is (it must hold `count`
    /// records and `spareFields` more), so only the records and the bytes are copied.
    public mutating func refill(
        records: UnsafeRawPointer, count: Int, bytes: UnsafeRawPointer, byteCount: Int, spareFields: Int, spareBytes: Int
    ) -> Bool {
        guard self.recordCapacity >= count + spareFields, self.storage.capacity >= self.byteAreaStart + byteCount + spareBytes else {
            return false
        }
        self.removeAll()
        self.storage.withUnsafeMutableBytes { raw in
            raw.baseAddress?.copyMemory(from: records, byteCount: count * Self.recordSize)
        }
        self.storage.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: byteCount))
        self.fieldCount = count
        return true
    }

    /// How many fields there are.
    @inlinable public var count: Int { self.fieldCount }

    @inlinable public var isEmpty: Bool { self.fieldCount == 0 }

    /// Empties the fields, keeping the storage for the next head.
    public mutating func removeAll() {
        self.storage.removeSubrange(self.byteAreaStart..<self.storage.count)
        self.fieldCount = 0
    }

    // MARK: adding

    /// Appends a field copied from raw bytes (a parser's or decoder's buffer).
    public mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        self.reserveRecord()
        let nameStart = self.storage.count - self.byteAreaStart
        self.appendBytes(name, value)
        self.addRecord(nameStart, name.count, nameStart + name.count, value.count)
    }

    /// Appends a field given as strings. `withCString` lends a native string's own bytes without
    /// a retain (appending the UTF-8 view as a sequence retains the string).
    public mutating func append(name: String, value: String) {
        self.reserveRecord()
        let nameStart = self.storage.count - self.byteAreaStart
        let nameCount = name.utf8.count
        let valueCount = value.utf8.count
        name.withCString { namePointer in
            value.withCString { valuePointer in
                self.appendBytes(
                    UnsafeRawBufferPointer(start: namePointer, count: nameCount),
                    UnsafeRawBufferPointer(start: valuePointer, count: valueCount))
            }
        }
        self.addRecord(nameStart, nameCount, nameStart + nameCount, valueCount)
    }

    /// Appends field `index` of `other` (bytes copied, no strings made).
    public mutating func append(_ other: HeaderFields, at index: Int) {
        other.withField(at: index) { name, value in self.append(name: name, value: value) }
    }

    /// Removes every field named `name` (compared case-insensitively), then appends `name: value`:
    /// what `HTTPHeaders.replaceOrAdd` does.
    public mutating func replaceOrAdd(name: String, value: String) {
        self.removeAll(name: name)
        self.append(name: name, value: value)
    }

    // MARK: removing

    /// Removes field `index`; the fields after it move up one place.
    public mutating func remove(at index: Int) {
        precondition(index >= 0 && index < self.fieldCount, "field index out of range")
        var current = 0
        self.removeFields { _, _ in
            defer { current += 1 }
            return current == index
        }
    }

    /// Removes every field named `name`, compared case-insensitively.
    public mutating func removeAll(name: String) {
        guard self.fieldCount > 0 else { return }
        var name = name
        name.withUTF8 { wanted in
            self.removeFields { fieldName, _ in Self.equalIgnoringCase(fieldName, UnsafeRawBufferPointer(wanted)) }
        }
    }

    /// Removes the fields for which `shouldRemove(name, value)` holds, in one pass; the others
    /// keep their order. The bytes are valid only during each call.
    public mutating func removeFields(
        where shouldRemove: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) rethrows {
        guard self.fieldCount > 0 else { return }
        let byteAreaStart = self.byteAreaStart
        let count = self.fieldCount
        let kept = try self.storage.withUnsafeMutableBytes { raw -> Int in
            var kept = 0
            for index in 0..<count {
                let record = Self.record(index, in: UnsafeRawBufferPointer(raw))
                let bytes = UnsafeRawBufferPointer(rebasing: raw[byteAreaStart...])
                let remove = try shouldRemove(
                    UnsafeRawBufferPointer(rebasing: bytes[record.nameStart..<(record.nameStart + record.nameLength)]),
                    UnsafeRawBufferPointer(rebasing: bytes[record.valueStart..<(record.valueStart + record.valueLength)]))
                if remove { continue }
                if kept != index { Self.store(record, at: kept, in: raw) }
                kept += 1
            }
            return kept
        }
        self.fieldCount = kept
    }

    // MARK: reading

    /// Field `index`'s name as a string (made on request: reading names this way allocates).
    public func name(at index: Int) -> String {
        self.withField(at: index) { name, _ in String(decoding: name, as: UTF8.self) }
    }

    /// Field `index`'s value as a string.
    public func value(at index: Int) -> String {
        self.withField(at: index) { _, value in String(decoding: value, as: UTF8.self) }
    }

    /// Field `index`'s name length in bytes.
    public func nameLength(at index: Int) -> Int { self.withField(at: index) { name, _ in name.count } }

    /// Field `index`'s value length in bytes.
    public func valueLength(at index: Int) -> Int { self.withField(at: index) { _, value in value.count } }

    /// Calls `body` with field `index`'s name bytes and value bytes (valid only during the call).
    @inlinable
    public func withField<Result>(
        at index: Int, _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        precondition(index >= 0 && index < self.fieldCount, "field index out of range")
        let byteAreaStart = self.byteAreaStart
        return try self.storage.withUnsafeBytes { raw in
            let record = Self.record(index, in: raw)
            let bytes = UnsafeRawBufferPointer(rebasing: raw[byteAreaStart...])
            return try body(
                UnsafeRawBufferPointer(rebasing: bytes[record.nameStart..<(record.nameStart + record.nameLength)]),
                UnsafeRawBufferPointer(rebasing: bytes[record.valueStart..<(record.valueStart + record.valueLength)]))
        }
    }

    /// The fields' size as HTTP/2 counts a header list (RFC 9113 §6.5.2): each name's and
    /// value's length plus 32.
    public var headerListSize: Int {
        var size = 0
        self.forEachField { name, value in size += name.count + value.count + 32 }
        return size
    }

    /// Calls `body` with every field's name and value bytes, in order, over one borrow of the
    /// storage (what writers and encoders use: no strings, no per-field bounds lookups).
    @inlinable
    public func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard self.fieldCount > 0 else { return }
        let byteAreaStart = self.byteAreaStart
        let count = self.fieldCount
        try self.storage.withUnsafeBytes { raw in
            // Fields exist, so the storage does (its records' area at least).
            guard let base = raw.baseAddress else { return }
            let bytes = base + byteAreaStart
            for index in 0..<count {
                let record = Self.record(index, in: raw)
                try body(
                    UnsafeRawBufferPointer(start: bytes + record.nameStart, count: record.nameLength),
                    UnsafeRawBufferPointer(start: bytes + record.valueStart, count: record.valueLength))
            }
        }
    }

    /// The bytes all fields take as `name: value` CRLF lines (an HTTP/1.1 writer's reservation).
    public var http1LineBytes: Int {
        var total = 0
        self.forEachField { name, value in total += name.count + value.count + 4 }
        return total
    }

    /// Whether field `index`'s name, ASCII-lower-cased, equals `lowercase`.
    public func nameEquals(at index: Int, _ lowercase: StaticString) -> Bool {
        self.withField(at: index) { name, _ in FieldName.equalsLowercase(name, lowercase) }
    }

    /// Whether field `index`'s value, ASCII-lower-cased, equals `lowercase`.
    public func valueEquals(at index: Int, _ lowercase: StaticString) -> Bool {
        self.withField(at: index) { _, value in FieldName.equalsLowercase(value, lowercase) }
    }

    /// Whether field `index`'s name starts with `lowercase`, ignoring ASCII case.
    public func nameHasPrefix(at index: Int, _ lowercase: StaticString) -> Bool {
        self.withField(at: index) { name, _ in
            let length = lowercase.utf8CodeUnitCount
            return name.count >= length && FieldName.equalsLowercase(UnsafeRawBufferPointer(rebasing: name[0..<length]), lowercase)
        }
    }

    /// Whether field `index`'s name equals `name`, ignoring ASCII case.
    public func nameEquals(at index: Int, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { wanted in
            self.withField(at: index) { fieldName, _ in Self.equalIgnoringCase(fieldName, UnsafeRawBufferPointer(wanted)) }
        }
    }

    /// The index of the first field for which `matches(name, value)` holds, or nil; one borrow
    /// of the storage for the whole scan.
    public func firstIndex(where matches: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool) rethrows -> Int? {
        var index = 0
        var found: Int?
        try self.forEachField { name, value in
            if found == nil, try matches(name, value) { found = index }
            index += 1
        }
        return found
    }

    /// Calls `body` with the value bytes of every field named `name` (any case), in order: one
    /// borrow of the name and of the storage for the whole scan.
    public func forEachValue(named name: String, _ body: (_ value: UnsafeRawBufferPointer) throws -> Void) rethrows {
        var name = name
        try name.withUTF8 { wanted in
            try self.forEachField { fieldName, value in
                if Self.equalIgnoringCase(fieldName, UnsafeRawBufferPointer(wanted)) { try body(value) }
            }
        }
    }

    /// The index of the first field named `lowercase` (any case), or nil.
    public func firstIndex(name lowercase: StaticString) -> Int? {
        self.firstIndex { name, _ in FieldName.equalsLowercase(name, lowercase) }
    }

    /// The index of the first field named `name` (any case), or nil.
    public func firstIndex(name: String) -> Int? {
        var name = name
        return name.withUTF8 { wanted in self.firstIndex { fieldName, _ in Self.equalIgnoringCase(fieldName, UnsafeRawBufferPointer(wanted)) } }
    }

    /// The first value of the field named `name` (any case), or nil. Only this value becomes a
    /// string.
    public func first(name: String) -> String? {
        self.firstIndex(name: name).map { self.value(at: $0) }
    }

    /// Whether some field is named `name` (any case).
    public func contains(name: String) -> Bool {
        self.firstIndex(name: name) != nil
    }

    // MARK: storage

    /// Where one field lies in the byte area.
    @usableFromInline
    struct Record {
        @usableFromInline var nameStart: Int
        @usableFromInline var nameLength: Int
        @usableFromInline var valueStart: Int
        @usableFromInline var valueLength: Int

        @inlinable
        init(nameStart: Int, nameLength: Int, valueStart: Int, valueLength: Int) {
            self.nameStart = nameStart
            self.nameLength = nameLength
            self.valueStart = valueStart
            self.valueLength = valueLength
        }
    }

    @inlinable
    static func record(_ index: Int, in raw: UnsafeRawBufferPointer) -> Record {
        let offset = index * Self.recordSize
        let step = MemoryLayout<Int>.stride
        return Record(
            nameStart: raw.loadUnaligned(fromByteOffset: offset, as: Int.self),
            nameLength: raw.loadUnaligned(fromByteOffset: offset + step, as: Int.self),
            valueStart: raw.loadUnaligned(fromByteOffset: offset + 2 * step, as: Int.self),
            valueLength: raw.loadUnaligned(fromByteOffset: offset + 3 * step, as: Int.self))
    }

    static func store(_ record: Record, at index: Int, in raw: UnsafeMutableRawBufferPointer) {
        let offset = index * Self.recordSize
        let step = MemoryLayout<Int>.stride
        raw.storeBytes(of: record.nameStart, toByteOffset: offset, as: Int.self)
        raw.storeBytes(of: record.nameLength, toByteOffset: offset + step, as: Int.self)
        raw.storeBytes(of: record.valueStart, toByteOffset: offset + 2 * step, as: Int.self)
        raw.storeBytes(of: record.valueLength, toByteOffset: offset + 3 * step, as: Int.self)
    }

    /// Makes room for one more record: when the records' area is full it doubles, and the bytes
    /// after it move up (their offsets are from the byte area's start, so they stay valid).
    private mutating func reserveRecord() {
        guard self.fieldCount == self.recordCapacity else { return }
        let grown = max(4, self.recordCapacity * 2)
        let added = (grown - self.recordCapacity) * Self.recordSize
        self.storage.insert(contentsOf: repeatElement(0, count: added), at: self.byteAreaStart)
        self.recordCapacity = grown
    }

    private mutating func addRecord(_ nameStart: Int, _ nameLength: Int, _ valueStart: Int, _ valueLength: Int) {
        let index = self.fieldCount
        let record = Record(nameStart: nameStart, nameLength: nameLength, valueStart: valueStart, valueLength: valueLength)
        self.storage.withUnsafeMutableBytes { Self.store(record, at: index, in: $0) }
        self.fieldCount += 1
    }

    /// Copies a name's and a value's bytes, one after the other, with one append to the storage
    /// (each `Array.append(contentsOf:)` checks uniqueness and capacity and copies through the
    /// generic sequence path): a short pair is joined on the stack first.
    private mutating func appendBytes(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        let total = name.count + value.count
        guard total <= 256 else {
            self.storage.append(contentsOf: name)
            self.storage.append(contentsOf: value)
            return
        }
        withUnsafeTemporaryAllocation(byteCount: total, alignment: 1) { joined in
            guard let base = joined.baseAddress else { return }
            if let source = name.baseAddress { base.copyMemory(from: source, byteCount: name.count) }
            if let source = value.baseAddress { (base + name.count).copyMemory(from: source, byteCount: value.count) }
            self.storage.append(contentsOf: UnsafeRawBufferPointer(joined))
        }
    }

    /// Whether two byte strings are the same but for ASCII case.
    @usableFromInline
    static func equalIgnoringCase(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for offset in 0..<lhs.count {
            var mine = lhs[offset]
            var theirs = rhs[offset]
            if mine &- UInt8(ascii: "A") < 26 { mine |= 0x20 }
            if theirs &- UInt8(ascii: "A") < 26 { theirs |= 0x20 }
            if mine != theirs { return false }
        }
        return true
    }
}
