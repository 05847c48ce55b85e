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
    /// Regular fields as bytes; pseudo-headers go to the properties below.
    private var fields = HeaderFields()
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
        guard self.hasLeftovers else { return }
        self.hasLeftovers = false
        self.fields.removeAll()
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
            if self.fields.isEmpty { self.fields = HeaderFields(byteCapacity: 256, fieldCapacity: 8) }
            self.fields.append(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value))
            return
        }
        // A pseudo-header, told apart by length and one letter, without making a String of the name.
        switch (name.count, name.count > 2 ? name[2] : 0) {
        case (7, UInt8(ascii: "e")): self.method = String(decoding: value, as: UTF8.self)  // :method
        case (7, UInt8(ascii: "c")): self.scheme = String(decoding: value, as: UTF8.self)  // :scheme
        case (10, UInt8(ascii: "u")): self.authority = Self.string(value, reusing: &self.previousAuthority)  // :authority
        case (5, UInt8(ascii: "a")): self.path = Self.string(value, reusing: &self.previousPath)  // :path
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

    /// Hands the finished block to `stream`: its fields replace the stream's (moved, not copied),
    /// and each pseudo-header the block carried overwrites the stream's.
    mutating func move(into stream: HTTP2StreamState) {
        guard self.isCollecting, self.streamID == stream.id else { return }
        self.isCollecting = false
        self.hasLeftovers = false
        // The stream's previous fields were taken by the application (or are a 1xx head's):
        // what comes back is cleared before the next block stores anything.
        swap(&stream.fieldBytes, &self.fields)
        if !self.fields.isEmpty { self.fields.removeAll() }
        stream.headerBlockTooLarge = self.tooLarge
        if let method = self.method.take() { stream.method = method }
        if let scheme = self.scheme.take() { stream.scheme = scheme }
        if let authority = self.authority.take() { stream.authority = authority }
        if let path = self.path.take() { stream.path = path }
        if let status = self.status.take() { stream.status = status }
    }
}
