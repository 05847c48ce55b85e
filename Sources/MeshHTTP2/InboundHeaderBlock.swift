/// The header block a session is decoding. A block arrives whole and alone: the HEADERS and
/// CONTINUATION frames of one stream may not interleave with any other frame (RFC 9113 §4.3),
/// so the session collects its fields here, without finding the stream for every field (each
/// lookup retained and released the stream), and moves them into the stream once the HEADERS
/// frame is complete.
struct InboundHeaderBlock {
    private(set) var streamID: Int32 = 0
    /// False for a block of a stream the session does not keep: nghttp2 still decodes it (HPACK
    /// state must stay in sync) and the fields are dropped.
    private(set) var isCollecting = false
    /// Regular fields as bytes, in storage reused for every block (pseudo-headers go to the
    /// properties below); a block's fields become one `HeaderFields` when it is complete.
    private let fields = InboundFieldScratch()
    private var method: String?
    private var scheme: String?
    private var authority: String?
    private var path: String?
    private var status: Int?
    /// The latest long `:authority` and `:path` strings made, for the next blocks to reuse.
    private var previousAuthority: String?
    private var previousPath: String?
    /// RFC 9113 §6.5.2 size (name + value + 32 per field) and count so far, against the limits.
    private var size = 0
    private var count = 0
    private var tooLarge = false
    /// Something was stored and not moved to a stream (a block nghttp2 rejected, or one of a
    /// stream the session does not keep): the next block starts by clearing it. Most blocks are
    /// moved whole, which leaves nothing to clear (and nothing to release).
    private var hasLeftovers = false

    mutating func begin(streamID: Int32, collecting: Bool) {
        self.streamID = streamID
        self.isCollecting = collecting
        self.size = 0
        self.count = 0
        self.tooLarge = false
        self.fields.removeAll()
        guard self.hasLeftovers else { return }
        self.hasLeftovers = false
        self.method = nil
        self.scheme = nil
        self.authority = nil
        self.path = nil
        self.status = nil
    }

    /// One decoded field. The bytes are nghttp2's and valid only during the call, so they are
    /// copied now. Past the limits the block is marked too large and stores nothing more.
    mutating func store(
        name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, maxListSize: Int, maxCount: Int
    ) {
        guard self.isCollecting, !self.tooLarge else { return }
        self.hasLeftovers = true
        self.size += name.count + value.count + 32
        self.count += 1
        if self.size > maxListSize || self.count > maxCount {
            self.tooLarge = true
            return
        }
        if name.first != UInt8(ascii: ":") {
            self.fields.append(name: name, value: value)
            return
        }
        // A pseudo-header, told apart by length and one letter, without making a String of the name.
        switch (name.count, name.count > 2 ? name[2] : 0) {
        // Filled rather than assigned: each is nil here but for a repeated field.
        case (7, UInt8(ascii: "e")): HTTP2StreamState.fill(&self.method, with: Self.method(value))  // :method
        case (7, UInt8(ascii: "c")): HTTP2StreamState.fill(&self.scheme, with: Self.scheme(value))  // :scheme
        case (10, UInt8(ascii: "u")):  // :authority
            HTTP2StreamState.fill(&self.authority, with: Self.string(value, reusing: &self.previousAuthority))
        case (5, UInt8(ascii: "a")): HTTP2StreamState.fill(&self.path, with: Self.string(value, reusing: &self.previousPath))  // :path
        case (7, UInt8(ascii: "t")): self.status = Self.statusCode(value)  // :status
        default: break  // nghttp2's HTTP messaging checks reject unknown pseudo-headers.
        }
    }

    /// The value as a string: the previous block's string when the bytes are the same (a
    /// connection's requests mostly carry one authority, often the same path), else a new one
    /// that the next block may reuse. Only strings too long to be stored inline (over 15 bytes)
    /// are kept: a shorter one costs no allocation to make.
    private static func string(_ value: UnsafeBufferPointer<UInt8>, reusing previous: inout String?) -> String {
        if let candidate = previous, candidate.utf8.count == value.count, Self.equal(candidate, value) { return candidate }
        let made = String(decoding: value, as: UTF8.self)
        if value.count > 15 { previous = made }
        return made
    }

    /// Whether `string`'s UTF-8 (of `bytes.count` bytes) is `bytes`. `withCString` lends a native
    /// string's bytes without a retain.
    private static func equal(_ string: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        string.withCString { pointer in
            pointer.withMemoryRebound(to: UInt8.self, capacity: bytes.count) { own in
                for index in 0..<bytes.count where own[index] != bytes[index] { return false }
                return true
            }
        }
    }

    /// `:method` as a string: a literal for the common methods (decoding validates the bytes
    /// and builds a string each time), the bytes decoded for any other (methods are
    /// case-sensitive: `get` is not `GET`).
    static func method(_ value: UnsafeBufferPointer<UInt8>) -> String {
        switch value.count {
        case 3 where Self.equal(value, "GET"): return "GET"
        case 3 where Self.equal(value, "PUT"): return "PUT"
        case 4 where Self.equal(value, "POST"): return "POST"
        case 4 where Self.equal(value, "HEAD"): return "HEAD"
        case 5 where Self.equal(value, "PATCH"): return "PATCH"
        case 6 where Self.equal(value, "DELETE"): return "DELETE"
        case 7 where Self.equal(value, "OPTIONS"): return "OPTIONS"
        default: return String(decoding: value, as: UTF8.self)
        }
    }

    /// `:scheme` as a string, likewise.
    static func scheme(_ value: UnsafeBufferPointer<UInt8>) -> String {
        switch value.count {
        case 4 where Self.equal(value, "http"): return "http"
        case 5 where Self.equal(value, "https"): return "https"
        default: return String(decoding: value, as: UTF8.self)
        }
    }

    /// Whether `bytes` are exactly `literal`'s (same length already checked by the callers).
    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for index in 0..<bytes.count where bytes[index] != expected[index] { return false }
        return true
    }

    /// `:status` as an integer (three digits, nghttp2 checks), read from the bytes; 0 if not one.
    private static func statusCode(_ value: UnsafeBufferPointer<UInt8>) -> Int {
        guard !value.isEmpty, value.count <= 18 else { return Int(String(decoding: value, as: UTF8.self)) ?? 0 }
        var code = 0
        for byte in value {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return Int(String(decoding: value, as: UTF8.self)) ?? 0 }
            code = code * 10 + Int(digit)
        }
        return code
    }

    /// Hands the finished block to `stream`: its fields replace the stream's (made in one allocation),
    /// and each pseudo-header the block carried overwrites the stream's.
    /// `spare`: storage of an earlier head the application is done with, filled instead of a new
    /// allocation when it has room (taken either way).
    mutating func move(into stream: HTTP2StreamState, reusing spare: inout HeaderFields?) {
        guard self.isCollecting, self.streamID == stream.id else { return }
        self.isCollecting = false
        self.hasLeftovers = false
        // The stream's previous fields were taken by the application (or are a 1xx head's).
        HTTP2StreamState.fill(&stream.fieldBytes, with: self.fields.take(reusing: &spare))
        stream.headerBlockTooLarge = self.tooLarge
        // Exchanged, not assigned: no retain or release. What the stream held (nil, as its head
        // comes once) stays here, for the next `begin` to clear.
        if Self.exchange(&self.method, &stream.method) { self.hasLeftovers = true }
        if Self.exchange(&self.scheme, &stream.scheme) { self.hasLeftovers = true }
        if Self.exchange(&self.authority, &stream.authority) { self.hasLeftovers = true }
        if Self.exchange(&self.path, &stream.path) { self.hasLeftovers = true }
        if let status = self.status.take() { stream.status = status }
    }

    /// Puts the block's `value`, if it has one, into `slot` and `slot`'s old value into `value`;
    /// true when that old value is not nil.
    @inline(__always)
    private static func exchange(_ value: inout String?, _ slot: inout String?) -> Bool {
        guard value != nil else { return false }
        swap(&value, &slot)
        return value != nil
    }
}

/// The fields of the block being decoded, copied into storage the session keeps for every block:
/// each field is one copy of its bytes and one record, with none of an array's uniqueness and
/// capacity checks; `take()` makes the finished block's `HeaderFields` in one allocation.
final class InboundFieldScratch {
    /// Records in `HeaderFields`' layout: four `Int`s per field (name start, name length, value
    /// start, value length; offsets into `bytes`).
    @exclusivity(unchecked) private var recordStorage = ReusedStorage<Int>(capacity: 4 * 32)
    private var records: UnsafeMutablePointer<Int> { self.recordStorage.base }
    private var count = 0
    @exclusivity(unchecked) private var byteStorage = ReusedStorage<UInt8>(capacity: 2048)
    private var bytes: UnsafeMutablePointer<UInt8> { self.byteStorage.base }
    private var byteCount = 0

    /// Room the made fields keep for what the proxy adds before forwarding (`host` to a request,
    /// `server`, `date` and the service time to a response) without growing.
    private static let spareFields = 6
    private static let spareBytes = 128

    deinit {
        self.recordStorage.deallocate()
        self.byteStorage.deallocate()
    }

    func removeAll() {
        self.count = 0
        self.byteCount = 0
    }

    func append(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        self.recordStorage.reserve(4 * (self.count + 1), keeping: 4 * self.count)
        self.byteStorage.reserve(self.byteCount + name.count + value.count, keeping: self.byteCount)
        let nameStart = self.byteCount
        if let source = name.baseAddress { ShortCopy.copy(source, to: self.bytes + nameStart, count: name.count) }
        let valueStart = nameStart + name.count
        if let source = value.baseAddress { ShortCopy.copy(source, to: self.bytes + valueStart, count: value.count) }
        self.byteCount = valueStart + value.count
        let record = self.records + 4 * self.count
        record[0] = nameStart
        record[1] = name.count
        record[2] = valueStart
        record[3] = value.count
        self.count += 1
    }

    /// The block's fields (empty, allocating nothing, when it had none), and the scratch emptied;
    /// written into `spare`'s storage when it has room (`spare` is taken either way when used).
    func take(reusing spare: inout HeaderFields?) -> HeaderFields {
        guard self.count > 0 else { return HeaderFields() }
        defer { self.removeAll() }
        if var reused = spare.take() {
            if reused.refill(
                records: UnsafeRawPointer(self.records), count: self.count, bytes: UnsafeRawPointer(self.bytes),
                byteCount: self.byteCount, spareFields: Self.spareFields, spareBytes: Self.spareBytes)
            {
                return reused
            }
        }
        return HeaderFields(
            records: UnsafeRawPointer(self.records), count: self.count, bytes: UnsafeRawPointer(self.bytes),
            byteCount: self.byteCount, spareFields: Self.spareFields, spareBytes: Self.spareBytes)
    }
}
