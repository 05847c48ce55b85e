import CNGHTTP2
import NIOHTTP1

/// Builds the `nghttp2_nv` array of one header block in storage that one session reuses for
/// every block it submits.
///
/// nghttp2 copies names and values during `nghttp2_submit_*` (no NO_COPY flags are set), so the
/// bytes only have to live until `submit` returns. One pass over the fields (each pass over an
/// `HTTPHeaders` retains and releases every name and value) and no allocation once the
/// storage has grown to the session's largest block. Byte fields appended inside
/// `borrowing(_:_:)` are not copied at all: the block points into their storage, copying only a
/// name that needs lower-casing.
final class HeaderBlock {
    @exclusivity(unchecked) private var byteStorage = ReusedStorage<UInt8>(capacity: 1024)
    private var bytes: UnsafeMutablePointer<UInt8> { self.byteStorage.base }
    private var byteCount = 0
    /// Where each field's name and value lie: offsets into `bytes`, or from `borrowedBase` when
    /// marked so, turned into pointers at submit time (the byte storage may move while it grows).
    private struct Span {
        var nameOffset: Int
        var nameLength: Int
        var valueOffset: Int
        var valueLength: Int
        var nameIsBorrowed: Bool
        var valueIsBorrowed: Bool
    }
    @exclusivity(unchecked) private var spanStorage = ReusedStorage<Span>(capacity: 64)
    private var spans: UnsafeMutablePointer<Span> { self.spanStorage.base }
    private var spanCount = 0
    /// The storage of the fields lent by `borrowing(_:_:)`, during its call only.
    private var borrowedBase: UnsafePointer<UInt8>?
    /// Some span points into the lent storage.
    private var hasBorrowedSpans = false

    deinit {
        self.byteStorage.deallocate()
        self.spanStorage.deallocate()
    }

    /// Starts a new block.
    func reset() {
        self.byteCount = 0
        self.spanCount = 0
        self.hasBorrowedSpans = false
    }

    /// Runs `body` with `fields` lent to the block: `append(fields)` inside it points into their
    /// storage instead of copying them (the block is submitted inside `body`, while the storage
    /// is certain to be there). The block is emptied when a span still points there at the end.
    func borrowing<Result>(_ fields: borrowing HeaderFields, _ body: () throws -> Result) rethrows -> Result {
        try fields.storage.withUnsafeBytes { raw in
            let outer = self.borrowedBase
            self.borrowedBase = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            defer {
                self.borrowedBase = outer
                if self.hasBorrowedSpans { self.reset() }
            }
            return try body()
        }
    }

    /// Appends one field as given (a pseudo-header, or a name already lower-case).
    func append(name: StaticString, value: String) {
        let nameOffset = self.byteCount
        self.copy(name.utf8Start, count: name.utf8CodeUnitCount)
        let valueOffset = self.byteCount
        self.copy(value)
        self.addSpan(nameOffset, name.utf8CodeUnitCount, valueOffset, self.byteCount - valueOffset)
    }

    /// Appends `name` with the value of the first of `fields` named `fieldName` (any case), or
    /// an empty value without one: `:authority` from a forwarded head's Host, with no string.
    func append(name: StaticString, valueOfFirst fieldName: StaticString, in fields: HeaderFields) {
        let nameOffset = self.byteCount
        self.copy(name.utf8Start, count: name.utf8CodeUnitCount)
        let valueOffset = self.byteCount
        if let index = fields.firstIndex(name: fieldName) { fields.withField(at: index) { _, value in self.copy(value) } }
        self.addSpan(nameOffset, name.utf8CodeUnitCount, valueOffset, self.byteCount - valueOffset)
    }

    /// Appends the fields HTTP/2 carries: names lower-cased, connection-specific fields dropped.
    /// Each name is copied first and then inspected and lower-cased in place, on the bytes.
    func append(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            let nameOffset = self.byteCount
            self.copy(name)
            let nameLength = self.byteCount - nameOffset
            let nameBytes = UnsafeMutableBufferPointer(start: self.bytes + nameOffset, count: nameLength)
            for index in nameBytes.indices where nameBytes[index] &- UInt8(ascii: "A") < 26 { nameBytes[index] |= 0x20 }
            if nameLength == 0 || nameBytes[0] == UInt8(ascii: ":")
                || Self.isConnectionSpecific(UnsafeBufferPointer(nameBytes), value: value)
            {
                self.byteCount = nameOffset
                continue
            }
            let valueOffset = self.byteCount
            self.copy(value)
            self.addSpan(nameOffset, nameLength, valueOffset, self.byteCount - valueOffset)
        }
    }

    /// The same for byte fields. Fields lent with `borrowing(_:_:)` are not copied: the block
    /// points into their storage, and copies only a name with an upper-case letter, to lower-case
    /// it. Other fields are copied.
    func append(_ fields: HeaderFields) {
        guard fields.fieldCount > 0 else { return }
        let byteAreaStart = fields.byteAreaStart
        fields.storage.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            guard base == self.borrowedBase else {
                self.appendCopying(fields)
                return
            }
            self.hasBorrowedSpans = true
            for index in 0..<fields.fieldCount {
                let record = HeaderFields.record(index, in: raw)
                let nameStart = byteAreaStart + record.nameStart
                let valueStart = byteAreaStart + record.valueStart
                let name = UnsafeBufferPointer(start: base + nameStart, count: record.nameLength)
                if name.isEmpty || name[0] == UInt8(ascii: ":") { continue }
                let valueIsTrailers = name.count == 2
                    && FieldName.equalsLowercase(UnsafeBufferPointer(start: base + valueStart, count: record.valueLength), "trailers")
                guard Self.hasUppercase(name) else {
                    if Self.isConnectionSpecific(name, valueIsTrailers: valueIsTrailers) { continue }
                    self.addSpan(
                        Span(nameOffset: nameStart, nameLength: name.count, valueOffset: valueStart, valueLength: record.valueLength,
                            nameIsBorrowed: true, valueIsBorrowed: true))
                    continue
                }
                let nameOffset = self.byteCount
                self.copy(UnsafeRawBufferPointer(name))
                let nameBytes = UnsafeMutableBufferPointer(start: self.bytes + nameOffset, count: name.count)
                for index in nameBytes.indices where nameBytes[index] &- UInt8(ascii: "A") < 26 { nameBytes[index] |= 0x20 }
                if Self.isConnectionSpecific(UnsafeBufferPointer(nameBytes), valueIsTrailers: valueIsTrailers) {
                    self.byteCount = nameOffset
                    continue
                }
                self.addSpan(
                    Span(nameOffset: nameOffset, nameLength: name.count, valueOffset: valueStart, valueLength: record.valueLength,
                        nameIsBorrowed: false, valueIsBorrowed: true))
            }
        }
    }

    /// `append(_:)` by copying names and values into the block's own bytes.
    private func appendCopying(_ fields: HeaderFields) {
        fields.forEachField { name, value in self.appendCopying(name: name, value: value) }
    }

    /// Copies one field into the block's own bytes, its name lower-cased; a pseudo-header or a
    /// connection-specific field is dropped.
    func appendCopying(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let nameOffset = self.byteCount
        self.copy(name)
        let nameBytes = UnsafeMutableBufferPointer(start: self.bytes + nameOffset, count: name.count)
        for index in nameBytes.indices where nameBytes[index] &- UInt8(ascii: "A") < 26 { nameBytes[index] |= 0x20 }
        let valueIsTrailers = name.count == 2 && FieldName.equalsLowercase(value.assumingMemoryBound(to: UInt8.self), "trailers")
        if name.isEmpty || nameBytes[0] == UInt8(ascii: ":")
            || Self.isConnectionSpecific(UnsafeBufferPointer(nameBytes), valueIsTrailers: valueIsTrailers)
        {
            self.byteCount = nameOffset
            return
        }
        let valueOffset = self.byteCount
        self.copy(value)
        self.addSpan(nameOffset, name.count, valueOffset, value.count)
    }

    /// Appends `name` with an empty value that `setValue(ofField:_:)` fills in later (a
    /// pseudo-header must precede the regular fields, whose writer may supply its value).
    /// Returns the field's index.
    func appendPlaceholder(name: StaticString) -> Int {
        let nameOffset = self.byteCount
        self.copy(name.utf8Start, count: name.utf8CodeUnitCount)
        self.addSpan(nameOffset, name.utf8CodeUnitCount, self.byteCount, 0)
        return self.spanCount - 1
    }

    /// Sets field `index`'s value (copied into the block's bytes).
    func setValue(ofField index: Int, _ value: UnsafeRawBufferPointer) {
        guard index >= 0, index < self.spanCount else { return }
        let valueOffset = self.byteCount
        self.copy(value)
        self.spans[index].valueOffset = valueOffset
        self.spans[index].valueLength = value.count
        self.spans[index].valueIsBorrowed = false
    }

    private static func hasUppercase(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in bytes where byte &- UInt8(ascii: "A") < 26 { return true }
        return false
    }

    /// Calls `body` with the block's `nghttp2_nv` array and its count.
    func withNameValues<Result>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result) -> Result {
        let fieldCount = self.spanCount
        // nghttp2 takes mutable pointers but, without NO_COPY flags, only reads and copies them.
        // Borrowed spans exist only while `borrowing` runs, so `borrowedBase` is set for them.
        let borrowedBytes = self.borrowedBase.map { UnsafeMutablePointer(mutating: $0) } ?? self.bytes
        return withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(fieldCount, 1)) { nvs in
            guard let nvBase = nvs.baseAddress else { return body(nil, 0) }
            for field in 0..<fieldCount {
                let span = self.spans[field]
                let name = (span.nameIsBorrowed ? borrowedBytes : self.bytes) + span.nameOffset
                nvBase[field] = nghttp2_nv(
                    name: name,
                    value: (span.valueIsBorrowed ? borrowedBytes : self.bytes) + span.valueOffset,
                    namelen: span.nameLength,
                    valuelen: span.valueLength,
                    flags: Self.isUniquePerMessage(UnsafeBufferPointer(start: name, count: span.nameLength))
                        ? Self.neverIndexed : Self.indexable
                )
            }
            return body(UnsafePointer(nvBase), fieldCount)
        }
    }

    private static let indexable = UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
    private static let neverIndexed = UInt8(NGHTTP2_NV_FLAG_NO_INDEX.rawValue)

    /// Whether a field (its name lower-case, as every name in the block is) has a value no
    /// other message repeats: `x-request-id`, a fresh UUID per request. HPACK would add each one
    /// to the dynamic table (both this side's encoder and the peer's decoder), where it is never
    /// used again and, every few dozen requests, has evicted the entries that are (so those are
    /// sent as literals again). Sent as a literal that is never indexed instead: the same field,
    /// another representation (RFC 7541 §6.2.3).
    static func isUniquePerMessage(_ lowercasedName: UnsafeBufferPointer<UInt8>) -> Bool {
        lowercasedName.count == 12 && FieldName.equalsLowercase(lowercasedName, "x-request-id")
    }

    /// Connection-specific fields that RFC 9113 §8.2.2 forbids in HTTP/2; a proxy forwarding an
    /// HTTP/1.1 head gets them dropped here rather than the peer resetting the stream.
    static func isConnectionSpecific(_ lowercasedName: String, value: String) -> Bool {
        var name = lowercasedName
        return name.withUTF8 { isConnectionSpecific($0, value: value) }
    }

    /// The same test on a lower-case name's bytes: by length first, then the bytes.
    static func isConnectionSpecific(_ name: UnsafeBufferPointer<UInt8>, value: String) -> Bool {
        isConnectionSpecific(name, valueIsTrailers: name.count == 2 && FieldName.equalsLowercase(value, "trailers"))
    }

    /// The same test given whether the value is `trailers` (all `te` may keep).
    static func isConnectionSpecific(_ name: UnsafeBufferPointer<UInt8>, valueIsTrailers: Bool) -> Bool {
        switch name.count {
        case 2: return FieldName.equalsLowercase(name, "te") && !valueIsTrailers
        case 4: return FieldName.equalsLowercase(name, "host")
        case 7: return FieldName.equalsLowercase(name, "upgrade")
        case 10: return FieldName.equalsLowercase(name, "connection") || FieldName.equalsLowercase(name, "keep-alive")
        case 14: return FieldName.equalsLowercase(name, "http2-settings")
        case 16: return FieldName.equalsLowercase(name, "proxy-connection")
        case 17: return FieldName.equalsLowercase(name, "transfer-encoding")
        default: return false
        }
    }

    // MARK: storage

    private func addSpan(_ nameOffset: Int, _ nameLength: Int, _ valueOffset: Int, _ valueLength: Int) {
        self.addSpan(
            Span(nameOffset: nameOffset, nameLength: nameLength, valueOffset: valueOffset, valueLength: valueLength,
                nameIsBorrowed: false, valueIsBorrowed: false))
    }

    @inline(__always)
    private func addSpan(_ span: Span) {
        self.spanStorage.reserve(self.spanCount + 1, keeping: self.spanCount)
        (self.spans + self.spanCount).initialize(to: span)
        self.spanCount += 1
    }

    private func reserve(_ count: Int) {
        self.byteStorage.reserve(self.byteCount + count, keeping: self.byteCount)
    }

    private func copy(_ source: UnsafePointer<UInt8>, count: Int) {
        self.reserve(count)
        (self.bytes + self.byteCount).update(from: source, count: count)
        self.byteCount += count
    }

    private func copy(_ source: UnsafeRawBufferPointer) {
        guard let base = source.baseAddress, !source.isEmpty else { return }
        self.copy(base.assumingMemoryBound(to: UInt8.self), count: source.count)
    }

    private func copy(_ string: String) {
        let count = string.utf8.count
        self.reserve(count)
        let destination = self.bytes + self.byteCount
        // `withCString` lends a native string's own bytes without retaining it (the UTF-8 view's
        // `withContiguousStorageIfAvailable` costs a retain, and serves no small string).
        string.withCString { source in
            source.withMemoryRebound(to: UInt8.self, capacity: count) { destination.update(from: $0, count: count) }
        }
        self.byteCount += count
    }
}
