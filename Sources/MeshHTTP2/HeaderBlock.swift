import CNGHTTP2
import NIOHTTP1

/// Builds the `nghttp2_nv` array of one header block in storage that one session reuses for
/// every block it submits.
///
/// One pass over the fields (each pass over an `HTTPHeaders` retains and releases every name and
/// value) and no allocation once the storage has grown to the session's largest burst of blocks.
/// Names (lower-case) and the values copied here are handed to nghttp2 with its NO_COPY flags:
/// otherwise `nghttp2_submit_*` copies every name and value once more and lower-cases each name
/// byte by byte again (about 1.6% of the proxy's CPU). nghttp2 reads those bytes when it
/// serialises the frame, in a later `mem_send`, so the storage is not reused while a submitted
/// block waits (`submit`, `frameLeft`): the next blocks go after it, and storage outgrown
/// meanwhile is kept until then. Values of byte fields appended inside `borrowing(_:_:)` are not
/// copied here: the block points into their storage, and nghttp2 copies them during the submit.
final class HeaderBlock {
    @exclusivity(unchecked) private var byteStorage = ReusedStorage<UInt8>(capacity: HeaderBlock.initialByteCapacity)
    private var bytes: UnsafeMutablePointer<UInt8> { self.byteStorage.base }
    private var byteCount = 0
    /// The block's `nghttp2_nv` array, written as each field is appended (a pass building it at
    /// submit time cost about 1 % of the proxy's CPU): names (and values copied here) point into
    /// `bytes`, and are moved along when the byte storage moves (`grow`); a lent value points
    /// into the lent storage. nghttp2 copies the array itself during the submit.
    @exclusivity(unchecked) private var fieldStorage = ReusedStorage<nghttp2_nv>(capacity: 64)
    private var nameValues: UnsafeMutablePointer<nghttp2_nv> { self.fieldStorage.base }
    private var fieldCount = 0
    /// The storage of the fields lent by `borrowing(_:_:)`, during its call only.
    private var borrowedBase: UnsafePointer<UInt8>?
    /// How many bytes of it there are (`appendLending` points at values inside them).
    private var borrowedCount = 0
    /// Some field's value points into the lent storage.
    private var hasBorrowedValues = false
    /// Where the lent fields' names and values start in their storage (after the records).
    private var lentByteArea = 0
    /// Once `appendLent` has copied the lent fields' bytes into this block: what to add to an
    /// offset in the lent storage to find the same byte in `bytes`.
    private var lentCopyDelta: Int?
    /// Blocks submitted whose frames nghttp2 has not serialised yet: it still reads their bytes.
    private(set) var waitingBlocks = 0
    /// Storage outgrown while blocks waited, some of which still point into it.
    private var outgrownStorage: [ReusedStorage<UInt8>] = []
    /// Storage kept beyond this goes back to the initial size once no block waits (a burst of
    /// large blocks grew it).
    private static let initialByteCapacity = 1024
    private static let maxKeptByteCapacity = 64 * 1024

    deinit {
        self.byteStorage.deallocate()
        self.fieldStorage.deallocate()
        for storage in self.outgrownStorage { storage.deallocate() }
    }

    /// Starts a new block: at the start of the storage, or after the blocks still waiting.
    func reset() {
        self.fieldCount = 0
        self.hasBorrowedValues = false
        self.lentCopyDelta = nil
        guard self.waitingBlocks == 0 else { return }
        self.byteCount = 0
        if self.byteStorage.capacity > Self.maxKeptByteCapacity {
            self.byteStorage.deallocate()
            self.byteStorage = ReusedStorage(capacity: Self.initialByteCapacity)
        }
    }

    /// Submits the block through `body` (an `nghttp2_submit_*` call given the `nghttp2_nv` array
    /// and its count; a negative result is an error, nothing queued). A queued block's bytes stay
    /// until `frameLeft()` reports its frame serialised or dropped.
    /// Not inlined: into a submit call that became small enough, the optimizer passed that
    /// call's closure's captures separately, retaining and releasing one per stream.
    @inline(never)
    func submit(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> Int32) -> Int32 {
        let result = self.withNameValues(body)
        if result >= 0 { self.waitingBlocks += 1 }
        return result
    }

    /// A HEADERS frame left nghttp2's queue (sent, or not sent): its block's bytes are free. Every
    /// HEADERS frame a session sends comes from a block `submit` queued.
    func frameLeft() {
        guard self.waitingBlocks > 0 else { return }
        self.waitingBlocks -= 1
        guard self.waitingBlocks == 0, !self.outgrownStorage.isEmpty else { return }
        for storage in self.outgrownStorage { storage.deallocate() }
        self.outgrownStorage.removeAll(keepingCapacity: true)
    }

    /// Runs `body` with `fields` lent to the block: `append(fields)` inside it points into their
    /// storage instead of copying them (the block is submitted inside `body`, while the storage
    /// is certain to be there). The block is emptied when a value still points there at the end.
    func borrowing<Result>(_ fields: borrowing HeaderFields, _ body: () throws -> Result) rethrows -> Result {
        try fields.storage.withUnsafeBytes { raw in
            let outer = self.borrowedBase
            let outerCount = self.borrowedCount
            let outerByteArea = self.lentByteArea
            let outerCopyDelta = self.lentCopyDelta
            self.borrowedBase = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            self.borrowedCount = raw.count
            self.lentByteArea = fields.fieldCount > 0 ? fields.byteAreaStart : raw.count
            self.lentCopyDelta = nil
            defer {
                self.borrowedBase = outer
                self.borrowedCount = outerCount
                self.lentByteArea = outerByteArea
                self.lentCopyDelta = outerCopyDelta
                if self.hasBorrowedValues { self.reset() }
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
        self.addField(nameOffset, name.utf8CodeUnitCount, valueOffset, self.byteCount - valueOffset)
    }

    /// Appends `name` with `value` in decimal, the bytes `String(value)` has, written here with no
    /// string made (`:status`: releasing the made string was a call per response).
    func append(name: StaticString, decimal value: Int) {
        let nameOffset = self.byteCount
        self.copy(name.utf8Start, count: name.utf8CodeUnitCount)
        let valueOffset = self.byteCount
        DecimalText.withBytes(of: value) { self.copy($0) }
        self.addField(nameOffset, name.utf8CodeUnitCount, valueOffset, self.byteCount - valueOffset)
    }

    /// Appends `name` with the value of the first of `fields` named `fieldName` (any case), or
    /// an empty value without one: `:authority` from a forwarded head's Host, with no string.
    func append(name: StaticString, valueOfFirst fieldName: StaticString, in fields: HeaderFields) {
        let nameOffset = self.byteCount
        self.copy(name.utf8Start, count: name.utf8CodeUnitCount)
        let valueOffset = self.byteCount
        if let index = fields.firstIndex(name: fieldName) { fields.withField(at: index) { _, value in self.copy(value) } }
        self.addField(nameOffset, name.utf8CodeUnitCount, valueOffset, self.byteCount - valueOffset)
    }

    /// Appends the fields HTTP/2 carries: names lower-cased, connection-specific fields dropped.
    /// Each name is copied first and then inspected and lower-cased in place, on the bytes.
    func append(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            let nameOffset = self.byteCount
            self.copy(name)
            let nameLength = self.byteCount - nameOffset
            ShortBytes.lowercaseInPlace(self.bytes + nameOffset, count: nameLength)
            let nameBytes = UnsafeMutableBufferPointer(start: self.bytes + nameOffset, count: nameLength)
            if nameLength == 0 || nameBytes[0] == UInt8(ascii: ":")
                || Self.isConnectionSpecific(UnsafeBufferPointer(nameBytes), value: value)
            {
                self.byteCount = nameOffset
                continue
            }
            let valueOffset = self.byteCount
            self.copy(value)
            self.addField(nameOffset, nameLength, valueOffset, self.byteCount - valueOffset)
        }
    }

    /// The same for byte fields. The values of fields lent with `borrowing(_:_:)` are not copied:
    /// the block points into their storage (their names are copied, lower-cased). Other fields
    /// are copied.
    func append(_ fields: HeaderFields) {
        guard fields.fieldCount > 0 else { return }
        let byteAreaStart = fields.byteAreaStart
        fields.storage.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            guard base == self.borrowedBase else {
                self.appendCopying(fields)
                return
            }
            self.hasBorrowedValues = true
            for index in 0..<fields.fieldCount {
                let record = HeaderFields.record(index, in: raw)
                let nameStart = byteAreaStart + record.nameStart
                let valueStart = byteAreaStart + record.valueStart
                let name = UnsafeBufferPointer(start: base + nameStart, count: record.nameLength)
                if name.isEmpty || name[0] == UInt8(ascii: ":") { continue }
                let valueIsTrailers = name.count == 2
                    && FieldName.equalsLowercase(UnsafeBufferPointer(start: base + valueStart, count: record.valueLength), "trailers")
                // The name is copied (nghttp2 reads names from the block, lower-case, after the
                // loan), the value lent.
                let nameOffset = self.byteCount
                self.copyLowercased(base + nameStart, count: name.count)
                let nameBytes = UnsafeMutableBufferPointer(start: self.bytes + nameOffset, count: name.count)
                if Self.isConnectionSpecific(UnsafeBufferPointer(nameBytes), valueIsTrailers: valueIsTrailers) {
                    self.byteCount = nameOffset
                    continue
                }
                self.addField(nameOffset, name.count, lentValue: base + valueStart, record.valueLength)
            }
        }
    }

    /// `append(_:)` by copying names and values into the block's own bytes.
    private func appendCopying(_ fields: HeaderFields) {
        fields.forEachField { name, value in self.appendCopying(name: name, value: value) }
    }

    /// What `appendCopying(name:value:)` did with a field.
    enum CopiedField {
        case appended
        /// A pseudo-header or a connection-specific field, left out.
        case dropped
        /// A Host field, left out too: `:authority` carries its value.
        case host
    }

    /// Copies one field into the block's own bytes, its name lower-cased; a pseudo-header or a
    /// connection-specific field (Host included) is dropped. The name is judged on the caller's
    /// bytes before anything is copied (by length, then case-insensitively), and name and value
    /// are copied after one reservation: a forwarded head sends every field through here.
    /// `nameIsLowercase`: the caller knows the name has no upper-case letter (every name an
    /// HTTP/2 peer sent: nghttp2 refuses the others), so it is not lower-cased again.
    @discardableResult
    func appendCopying(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, nameIsLowercase: Bool = false) -> CopiedField {
        let nameCount = name.count
        guard nameCount > 0, let nameBase = name.baseAddress else { return .dropped }
        let nameSource = nameBase.assumingMemoryBound(to: UInt8.self)
        let sourceName = UnsafeBufferPointer(start: nameSource, count: nameCount)
        if nameCount == 4 && FieldName.equalsLowercase(sourceName, "host") { return .host }
        let valueIsTrailers = nameCount == 2 && FieldName.equalsLowercase(value.assumingMemoryBound(to: UInt8.self), "trailers")
        if nameSource[0] == UInt8(ascii: ":") || Self.isConnectionSpecific(sourceName, valueIsTrailers: valueIsTrailers) {
            return .dropped
        }
        self.appendOrdinary(name: name, value: value, nameIsLowercase: nameIsLowercase)
        return .appended
    }

    /// Copies a field the caller knows to be ordinary (a non-empty name, neither a pseudo-header
    /// nor Host nor connection-specific) into the block's own bytes, its name lower-cased
    /// unless `nameIsLowercase`: `appendCopying(name:value:nameIsLowercase:)` without the tests.
    @inline(__always)
    func appendOrdinary(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, nameIsLowercase: Bool) {
        let nameCount = name.count
        guard nameCount > 0, let nameBase = name.baseAddress else { return }
        let nameSource = nameBase.assumingMemoryBound(to: UInt8.self)
        let valueCount = value.count
        let nameOffset = self.byteCount
        self.reserve(nameCount + valueCount)
        let destination = self.bytes + nameOffset
        if nameIsLowercase {
            ShortBytes.copy(destination, from: nameSource, count: nameCount)
        } else {
            ShortBytes.copyLowercased(destination, from: nameSource, count: nameCount)
        }
        if valueCount > 0, let valueBase = value.baseAddress {
            ShortBytes.copy(destination + nameCount, from: valueBase.assumingMemoryBound(to: UInt8.self), count: valueCount)
        }
        self.byteCount = nameOffset + nameCount + valueCount
        self.addField(nameOffset, nameCount, nameOffset + nameCount, valueCount)
    }

    /// `appendCopying(name:value:)`, but a value that lies in the storage lent by
    /// `borrowing(_:_:)` is pointed to rather than copied (as `append(_:)` does for lent fields):
    /// a response head written field by field from the upstream's fields (`HTTP2ResponseFieldWriter`).
    func appendLending(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard let borrowedBase = self.borrowedBase, let valueBase = value.baseAddress,
              valueBase >= UnsafeRawPointer(borrowedBase),
              valueBase + value.count <= UnsafeRawPointer(borrowedBase) + self.borrowedCount
        else {
            self.appendCopying(name: name, value: value)
            return
        }
        let nameOffset = self.byteCount
        if let nameBase = name.baseAddress { self.copyLowercased(nameBase.assumingMemoryBound(to: UInt8.self), count: name.count) }
        let nameBytes = UnsafeMutableBufferPointer(start: self.bytes + nameOffset, count: name.count)
        let valueIsTrailers = name.count == 2 && FieldName.equalsLowercase(value.assumingMemoryBound(to: UInt8.self), "trailers")
        if name.isEmpty || nameBytes[0] == UInt8(ascii: ":")
            || Self.isConnectionSpecific(UnsafeBufferPointer(nameBytes), valueIsTrailers: valueIsTrailers)
        {
            self.byteCount = nameOffset
            return
        }
        self.hasBorrowedValues = true
        self.addField(nameOffset, name.count, lentValue: valueBase.assumingMemoryBound(to: UInt8.self), value.count)
    }

    /// `appendLending(name:value:)` for a field its caller has judged already: its name is
    /// neither empty, a pseudo-header nor one RFC 9113 §8.2.2 forbids (in any case), and its name
    /// and value lie in the fields lent by `borrowing(_:_:)`. The first such field copies all the
    /// lent fields' names and values into the block at once (one copy of a few hundred bytes);
    /// each field then points at its name (lower-cased there a word at a time, unless
    /// `nameIsLowercase`) and value in that copy, so nghttp2 copies neither (NO_COPY) and there
    /// are none of the per-field tests, which a response head's writer has made in its own pass.
    func appendLent(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, nameIsLowercase: Bool) {
        guard let lent = self.borrowedBase, let nameBase = name.baseAddress, let valueBase = value.baseAddress else {
            self.appendLending(name: name, value: value)
            return
        }
        let lentBytes = UnsafeRawPointer(lent)
        assert(
            nameBase >= lentBytes + self.lentByteArea && nameBase + name.count <= lentBytes + self.borrowedCount
                && valueBase >= lentBytes + self.lentByteArea && valueBase + value.count <= lentBytes + self.borrowedCount,
            "appendLent: a field outside the lent fields")
        let delta: Int
        if let copied = self.lentCopyDelta {
            delta = copied
        } else {
            let count = self.borrowedCount - self.lentByteArea
            let offset = self.byteCount
            self.reserve(count)
            (self.bytes + offset).update(from: lent + self.lentByteArea, count: count)
            self.byteCount = offset + count
            delta = offset - self.lentByteArea
            self.lentCopyDelta = delta
        }
        let nameOffset = delta + (nameBase - lentBytes)
        if !nameIsLowercase { ShortBytes.lowercaseInPlace(self.bytes + nameOffset, count: name.count) }
        self.addField(nameOffset, name.count, delta + (valueBase - lentBytes), value.count)
    }

    /// Appends `name` (lower-case, not connection-specific: the caller's literal) with `value`
    /// copied, with none of the tests a forwarded name needs.
    func append(name: StaticString, value: UnsafeRawBufferPointer) {
        let nameOffset = self.byteCount
        self.copy(name.utf8Start, count: name.utf8CodeUnitCount)
        let valueOffset = self.byteCount
        self.copy(value)
        self.addField(nameOffset, name.utf8CodeUnitCount, valueOffset, value.count)
    }

    /// Appends `name` with an empty value that `setValue(ofField:_:)` fills in later (a
    /// pseudo-header must precede the regular fields, whose writer may supply its value).
    /// Returns the field's index.
    func appendPlaceholder(name: StaticString) -> Int {
        let nameOffset = self.byteCount
        self.copy(name.utf8Start, count: name.utf8CodeUnitCount)
        self.addField(nameOffset, name.utf8CodeUnitCount, self.byteCount, 0)
        return self.fieldCount - 1
    }

    /// Sets field `index`'s value (copied into the block's bytes).
    func setValue(ofField index: Int, _ value: UnsafeRawBufferPointer) {
        guard index >= 0, index < self.fieldCount else { return }
        let valueOffset = self.byteCount
        self.copy(value)
        let field = self.nameValues + index
        field.pointee.value = self.bytes + valueOffset
        field.pointee.valuelen = value.count
        field.pointee.flags = (field.pointee.flags & Self.indexingFlags) | Self.nameAndValueInBlock
    }

    /// Calls `body` with the block's `nghttp2_nv` array and its count. nghttp2 takes mutable
    /// pointers but only reads them; lent values exist only while `borrowing` runs, and nghttp2
    /// copies them (no NO_COPY flag).
    func withNameValues<Result>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result) -> Result {
        body(UnsafePointer(self.nameValues), self.fieldCount)
    }

    /// The block's fields as `name: value` lines, in order (for diagnostics and tests; not on the
    /// request path).
    var fieldLines: [String] {
        (0..<self.fieldCount).map { index in
            let field = self.nameValues[index]
            return String(decoding: UnsafeBufferPointer(start: field.name, count: field.namelen), as: UTF8.self) + ": "
                + String(decoding: UnsafeBufferPointer(start: field.value, count: field.valuelen), as: UTF8.self)
        }
    }

    /// The indexing flag of the next unique-per-message field: indexable once every
    /// `uniqueFieldIndexingInterval` fields (the session's first among them), never indexed
    /// otherwise. The indexed one leaves the name in both sides' dynamic tables, so the ones
    /// after it carry their name as a table index: neither side Huffman-codes those 12 bytes
    /// again (the peer's decoding of the literal name cost it more than the rest of the field).
    /// Re-indexed now and then in case other entries have evicted it.
    private func uniqueFieldIndexing() -> UInt8 {
        guard self.uniqueFieldsSinceIndexed < Self.uniqueFieldIndexingInterval else {
            self.uniqueFieldsSinceIndexed = 1
            return Self.indexable
        }
        self.uniqueFieldsSinceIndexed += 1
        return Self.neverIndexed
    }

    /// Unique-per-message fields submitted since one went out indexable.
    private var uniqueFieldsSinceIndexed = HeaderBlock.uniqueFieldIndexingInterval
    static let uniqueFieldIndexingInterval = 1024

    private static let indexable = UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
    private static let neverIndexed = UInt8(NGHTTP2_NV_FLAG_NO_INDEX.rawValue)
    private static let nameInBlock = UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue)
    private static let nameAndValueInBlock = UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue)
    private static let valueInBlock = UInt8(NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue)
    private static let indexingFlags = UInt8(NGHTTP2_NV_FLAG_NO_INDEX.rawValue)

    /// Whether a field (its name lower-case, as every name in the block is) has a value no
    /// other message repeats: `x-request-id`, a fresh UUID per request. HPACK would add each one
    /// to the dynamic table (both this side's encoder and the peer's decoder), where it is never
    /// used again and, every few dozen requests, has evicted the entries that are (so those are
    /// sent as literals again). Sent as a literal that is never indexed instead (but for one in
    /// `uniqueFieldIndexingInterval`, which puts the name in the table): the same field, another
    /// representation (RFC 7541 §6.2.3).
    @inline(__always)
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

    /// Adds a field whose name and value are in `bytes`, at these offsets.
    @inline(__always)
    private func addField(_ nameOffset: Int, _ nameLength: Int, _ valueOffset: Int, _ valueLength: Int) {
        self.addField(nameOffset, nameLength, value: self.bytes + valueOffset, valueLength, flags: Self.nameAndValueInBlock)
    }

    /// Adds a field whose name is in `bytes` and whose value lies in the lent storage.
    @inline(__always)
    private func addField(_ nameOffset: Int, _ nameLength: Int, lentValue: UnsafePointer<UInt8>, _ valueLength: Int) {
        self.addField(nameOffset, nameLength, value: UnsafeMutablePointer(mutating: lentValue), valueLength, flags: Self.nameInBlock)
    }

    /// Stores the field's `nghttp2_nv`, its indexing decided on its name (lower-case in `bytes`).
    @inline(__always)
    private func addField(_ nameOffset: Int, _ nameLength: Int, value: UnsafeMutablePointer<UInt8>, _ valueLength: Int, flags: UInt8) {
        self.fieldStorage.reserve(self.fieldCount + 1, keeping: self.fieldCount)
        let name = self.bytes + nameOffset
        let indexing = Self.isUniquePerMessage(UnsafeBufferPointer(start: name, count: nameLength)) ? self.uniqueFieldIndexing() : Self.indexable
        (self.nameValues + self.fieldCount).initialize(
            to: nghttp2_nv(name: name, value: value, namelen: nameLength, valuelen: valueLength, flags: indexing | flags))
        self.fieldCount += 1
    }

    /// The byte storage moved from `oldBase` to `bytes` (the same offsets): the fields of the
    /// block being built point to the new place (those of blocks waiting point into storage kept
    /// for them, and nghttp2 holds its own copy of their arrays).
    private func moveFields(from oldBase: UnsafeMutablePointer<UInt8>) {
        let newBase = self.bytes
        guard newBase != oldBase else { return }
        for index in 0..<self.fieldCount {
            let field = self.nameValues + index
            field.pointee.name = newBase + (field.pointee.name - oldBase)
            if field.pointee.flags & Self.valueInBlock != 0 { field.pointee.value = newBase + (field.pointee.value - oldBase) }
        }
    }

    /// Makes room for `count` more bytes: a test inlined into every copy (two per field), the
    /// growth apart (a call per copy was about 1 % of the proxy's CPU).
    @inline(__always)
    private func reserve(_ count: Int) {
        let needed = self.byteCount + count
        guard needed > self.byteStorage.capacity else { return }
        self.grow(to: needed)
    }

    private func grow(to needed: Int) {
        let oldBase = self.bytes
        defer { self.moveFields(from: oldBase) }
        guard self.waitingBlocks > 0 else {
            self.byteStorage.reserve(needed, keeping: self.byteCount)
            return
        }
        // Waiting blocks point into the storage: it stays until they leave, and the bytes so far
        // move to new storage at the same offsets.
        var capacity = self.byteStorage.capacity * 2
        while capacity < needed { capacity *= 2 }
        let grown = ReusedStorage<UInt8>(capacity: capacity)
        grown.base.update(from: self.byteStorage.base, count: self.byteCount)
        self.outgrownStorage.append(self.byteStorage)
        self.byteStorage = grown
    }

    @inline(__always)
    private func copy(_ source: UnsafePointer<UInt8>, count: Int) {
        self.reserve(count)
        ShortBytes.copy(self.bytes + self.byteCount, from: source, count: count)
        self.byteCount += count
    }

    /// Copies a name, lower-cased.
    @inline(__always)
    private func copyLowercased(_ source: UnsafePointer<UInt8>, count: Int) {
        self.reserve(count)
        ShortBytes.copyLowercased(self.bytes + self.byteCount, from: source, count: count)
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
            source.withMemoryRebound(to: UInt8.self, capacity: count) { ShortBytes.copy(destination, from: $0, count: count) }
        }
        self.byteCount += count
    }
}
