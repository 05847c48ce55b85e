/// HTTP fields kept as bytes: every name and value in one contiguous byte storage, and per field
/// one record of offsets into it. The proxy path carries a head's fields this way from the parser
/// (or the HTTP/2 decoder) to the writer (or the HTTP/2 encoder) without making a `String` per
/// field: `HTTPHeaders` holds an array of string pairs, and each pass over it retains and
/// releases every string, which profiles showed as a large share of a proxied request's cost.
///
/// Names keep the case they arrived with (HTTP/1.1 forwards them as sent; the HTTP/2 encoder
/// lower-cases them while copying) and compare case-insensitively. Fields with the same name stay
/// separate and in order. Removing a field drops its record only; its bytes stay in the storage
/// until the value is dropped, which keeps removal cheap and the other offsets valid.
public struct HeaderFields: Sendable {
    /// Where one field's name and value lie in `bytes`.
    @usableFromInline
    struct Record: Sendable {
        @usableFromInline var nameStart: Int
        @usableFromInline var nameLength: Int
        @usableFromInline var valueStart: Int
        @usableFromInline var valueLength: Int
    }

    @usableFromInline var bytes: [UInt8]
    @usableFromInline var records: [Record]

    /// Empty fields, with room reserved for `byteCapacity` bytes of names and values and
    /// `fieldCapacity` fields (0: nothing is allocated until the first field).
    public init(byteCapacity: Int = 0, fieldCapacity: Int = 0) {
        self.bytes = []
        self.records = []
        if byteCapacity > 0 { self.bytes.reserveCapacity(byteCapacity) }
        if fieldCapacity > 0 { self.records.reserveCapacity(fieldCapacity) }
    }

    /// How many fields there are.
    @inlinable public var count: Int { self.records.count }

    @inlinable public var isEmpty: Bool { self.records.isEmpty }

    /// Empties the fields, keeping the storage for the next head.
    public mutating func removeAll() {
        self.bytes.removeAll(keepingCapacity: true)
        self.records.removeAll(keepingCapacity: true)
    }

    // MARK: adding

    /// Appends a field copied from raw bytes (a parser's or decoder's buffer).
    public mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let nameStart = self.bytes.count
        self.bytes.append(contentsOf: name)
        let valueStart = self.bytes.count
        self.bytes.append(contentsOf: value)
        self.records.append(Record(nameStart: nameStart, nameLength: name.count, valueStart: valueStart, valueLength: value.count))
    }

    /// Appends a field given as strings.
    public mutating func append(name: String, value: String) {
        let nameStart = self.bytes.count
        self.appendBytes(of: name)
        let valueStart = self.bytes.count
        self.appendBytes(of: value)
        self.records.append(
            Record(nameStart: nameStart, nameLength: valueStart - nameStart, valueStart: valueStart, valueLength: self.bytes.count - valueStart))
    }

    /// Copies `string`'s UTF-8. `withCString` lends a native string's own bytes without a retain
    /// (appending the UTF-8 view as a sequence retains the string).
    private mutating func appendBytes(of string: String) {
        let count = string.utf8.count
        guard count > 0 else { return }
        string.withCString { pointer in
            self.bytes.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
        }
    }

    /// Appends field `index` of `other` (bytes copied, no strings made).
    public mutating func append(_ other: HeaderFields, at index: Int) {
        let record = other.records[index]
        other.bytes.withUnsafeBytes { source in
            self.append(
                name: UnsafeRawBufferPointer(rebasing: source[record.nameStart..<(record.nameStart + record.nameLength)]),
                value: UnsafeRawBufferPointer(rebasing: source[record.valueStart..<(record.valueStart + record.valueLength)]))
        }
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
        self.records.remove(at: index)
    }

    /// Removes every field named `name`, compared case-insensitively.
    public mutating func removeAll(name: String) {
        guard !self.records.isEmpty else { return }
        var name = name
        name.withUTF8 { wanted in
            self.bytes.withUnsafeBytes { storage in
                self.records.removeAll { Self.equalIgnoringCase(storage, $0.nameStart, $0.nameLength, UnsafeRawBufferPointer(wanted)) }
            }
        }
    }

    /// Removes the fields for which `shouldRemove(name, value)` holds, in one pass; the others
    /// keep their order. The bytes are valid only during each call.
    public mutating func removeFields(
        where shouldRemove: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) rethrows {
        var kept = 0
        try self.bytes.withUnsafeBytes { storage in
            for index in self.records.indices {
                let record = self.records[index]
                let remove = try shouldRemove(
                    UnsafeRawBufferPointer(rebasing: storage[record.nameStart..<(record.nameStart + record.nameLength)]),
                    UnsafeRawBufferPointer(rebasing: storage[record.valueStart..<(record.valueStart + record.valueLength)]))
                if remove { continue }
                if kept != index { self.records[kept] = record }
                kept += 1
            }
        }
        self.records.removeLast(self.records.count - kept)
    }

    // MARK: reading

    /// Field `index`'s name as a string (made on request: reading names this way allocates).
    public func name(at index: Int) -> String {
        let record = self.records[index]
        return self.string(record.nameStart, record.nameLength)
    }

    /// Field `index`'s value as a string.
    public func value(at index: Int) -> String {
        let record = self.records[index]
        return self.string(record.valueStart, record.valueLength)
    }

    /// Field `index`'s name length in bytes.
    public func nameLength(at index: Int) -> Int { self.records[index].nameLength }

    /// Field `index`'s value length in bytes.
    public func valueLength(at index: Int) -> Int { self.records[index].valueLength }

    /// Calls `body` with field `index`'s name bytes and value bytes (valid only during the call).
    @inlinable
    public func withField<Result>(
        at index: Int, _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        let record = self.records[index]
        return try self.bytes.withUnsafeBytes { storage in
            try body(
                UnsafeRawBufferPointer(rebasing: storage[record.nameStart..<(record.nameStart + record.nameLength)]),
                UnsafeRawBufferPointer(rebasing: storage[record.valueStart..<(record.valueStart + record.valueLength)]))
        }
    }

    /// Calls `body` with every field's name and value bytes, in order, over one borrow of the
    /// storage (what writers and encoders use: no strings, no per-field bounds lookups).
    @inlinable
    public func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) rethrows {
        try self.bytes.withUnsafeBytes { storage in
            guard let base = storage.baseAddress else {
                // Only empty names and values have no storage.
                for _ in self.records { try body(UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0)) }
                return
            }
            for record in self.records {
                try body(
                    UnsafeRawBufferPointer(start: base + record.nameStart, count: record.nameLength),
                    UnsafeRawBufferPointer(start: base + record.valueStart, count: record.valueLength))
            }
        }
    }

    /// The bytes all fields take as `name: value` CRLF lines (an HTTP/1.1 writer's reservation).
    public var http1LineBytes: Int {
        self.records.reduce(0) { $0 + $1.nameLength + $1.valueLength + 4 }
    }

    /// Whether field `index`'s name, ASCII-lower-cased, equals `lowercase`.
    public func nameEquals(at index: Int, _ lowercase: StaticString) -> Bool {
        let record = self.records[index]
        return self.equalsLowercase(record.nameStart, record.nameLength, lowercase)
    }

    /// Whether field `index`'s value, ASCII-lower-cased, equals `lowercase`.
    public func valueEquals(at index: Int, _ lowercase: StaticString) -> Bool {
        let record = self.records[index]
        return self.equalsLowercase(record.valueStart, record.valueLength, lowercase)
    }

    /// Whether field `index`'s name starts with `lowercase`, ignoring ASCII case.
    public func nameHasPrefix(at index: Int, _ lowercase: StaticString) -> Bool {
        let record = self.records[index]
        let length = lowercase.utf8CodeUnitCount
        guard record.nameLength >= length else { return false }
        return self.equalsLowercase(record.nameStart, length, lowercase)
    }

    /// Whether field `index`'s name equals `name`, ignoring ASCII case.
    public func nameEquals(at index: Int, _ name: String) -> Bool {
        let record = self.records[index]
        guard record.nameLength == name.utf8.count else { return false }
        var name = name
        return name.withUTF8 { wanted in
            self.bytes.withUnsafeBytes { Self.equalIgnoringCase($0, record.nameStart, record.nameLength, UnsafeRawBufferPointer(wanted)) }
        }
    }

    /// The index of the first field named `lowercase` (any case), or nil.
    public func firstIndex(name lowercase: StaticString) -> Int? {
        self.records.indices.first { self.nameEquals(at: $0, lowercase) }
    }

    /// The first value of the field named `name` (any case), or nil. Only this value becomes a
    /// string.
    public func first(name: String) -> String? {
        guard let index = self.records.indices.first(where: { self.nameEquals(at: $0, name) }) else { return nil }
        return self.value(at: index)
    }

    /// Whether some field is named `name` (any case).
    public func contains(name: String) -> Bool {
        self.records.indices.contains { self.nameEquals(at: $0, name) }
    }

    // MARK: helpers

    private func string(_ start: Int, _ length: Int) -> String {
        self.bytes.withUnsafeBufferPointer { storage in
            String(decoding: UnsafeBufferPointer(rebasing: storage[start..<(start + length)]), as: UTF8.self)
        }
    }

    private func equalsLowercase(_ start: Int, _ length: Int, _ lowercase: StaticString) -> Bool {
        guard length == lowercase.utf8CodeUnitCount else { return false }
        return self.bytes.withUnsafeBufferPointer { storage in
            FieldName.equalsLowercase(UnsafeBufferPointer(rebasing: storage[start..<(start + length)]), lowercase)
        }
    }

    /// Whether `storage[start..<start+length]` and `other` are the same bytes but for ASCII case.
    @usableFromInline
    static func equalIgnoringCase(_ storage: UnsafeRawBufferPointer, _ start: Int, _ length: Int, _ other: UnsafeRawBufferPointer) -> Bool {
        guard length == other.count else { return false }
        for offset in 0..<length {
            var mine = storage[start + offset]
            var theirs = other[offset]
            if mine &- UInt8(ascii: "A") < 26 { mine |= 0x20 }
            if theirs &- UInt8(ascii: "A") < 26 { theirs |= 0x20 }
            if mine != theirs { return false }
        }
        return true
    }
}
