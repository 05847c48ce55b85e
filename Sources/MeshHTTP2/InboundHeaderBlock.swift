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
        let valueString = String(decoding: value, as: UTF8.self)
        // A pseudo-header, told apart by length and one letter, without making a String of the name.
        switch (name.count, name.count > 2 ? name[2] : 0) {
        case (7, UInt8(ascii: "e")): self.method = valueString  // :method
        case (7, UInt8(ascii: "c")): self.scheme = valueString  // :scheme
        case (10, UInt8(ascii: "u")): self.authority = valueString  // :authority
        case (5, UInt8(ascii: "a")): self.path = valueString  // :path
        case (7, UInt8(ascii: "t")): self.status = Int(valueString) ?? 0  // :status
        default: break  // nghttp2's HTTP messaging checks reject unknown pseudo-headers.
        }
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
