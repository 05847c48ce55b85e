import CNGHTTP2
import NIOHTTP1

/// Builds the `nghttp2_nv` array of one header block in storage that one session reuses for
/// every block it submits.
///
/// nghttp2 copies names and values during `nghttp2_submit_*` (no NO_COPY flags are set), so the
/// bytes only have to live until `submit` returns. One pass over the fields (each pass over an
/// `HTTPHeaders` retains and releases every name and value) and no allocation once the
/// storage has grown to the session's largest block.
final class HeaderBlock {
    private var bytes: UnsafeMutablePointer<UInt8>
    private var byteCapacity: Int
    private var byteCount = 0
    /// Offsets and lengths into `bytes`, four per field, turned into pointers at submit time
    /// (the byte storage may move while it grows).
    private var spans: [Int] = []

    init() {
        self.byteCapacity = 1024
        self.bytes = .allocate(capacity: self.byteCapacity)
        self.spans.reserveCapacity(64)
    }

    deinit {
        self.bytes.deallocate()
    }

    /// Starts a new block.
    func reset() {
        self.byteCount = 0
        self.spans.removeAll(keepingCapacity: true)
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

    /// The same for byte fields: each name copied and lower-cased in place, its value copied
    /// only when the field stays.
    func append(_ fields: HeaderFields) {
        fields.forEachField { name, value in
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
    }

    /// Calls `body` with the block's `nghttp2_nv` array and its count.
    func withNameValues<Result>(_ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result) -> Result {
        let fieldCount = self.spans.count / 4
        return withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(fieldCount, 1)) { nvs in
            guard let nvBase = nvs.baseAddress else { return body(nil, 0) }
            for field in 0..<fieldCount {
                let span = field * 4
                nvBase[field] = nghttp2_nv(
                    name: self.bytes + self.spans[span],
                    value: self.bytes + self.spans[span + 2],
                    namelen: self.spans[span + 1],
                    valuelen: self.spans[span + 3],
                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
                )
            }
            return body(UnsafePointer(nvBase), fieldCount)
        }
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
        self.spans.append(nameOffset)
        self.spans.append(nameLength)
        self.spans.append(valueOffset)
        self.spans.append(valueLength)
    }

    private func reserve(_ count: Int) {
        guard self.byteCount + count > self.byteCapacity else { return }
        var capacity = self.byteCapacity * 2
        while capacity < self.byteCount + count { capacity *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        grown.update(from: self.bytes, count: self.byteCount)
        self.bytes.deallocate()
        self.bytes = grown
        self.byteCapacity = capacity
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
