/// Writes a forwarded request's regular fields straight into the header block a client stream
/// is opened with (`HTTP2ClientConnection.openStream(method:scheme:path:endStream:delegate:writeFields:)`),
/// with no `HeaderFields` in between: names are lower-cased, pseudo-headers and the fields
/// RFC 9113 §8.2.2 forbids are dropped, and the first Host field's value becomes `:authority`
/// (empty without one), exactly as opening a stream with forwarded byte fields does.
/// Valid only during the `writeFields` call it is lent to.
public struct HTTP2RequestFieldWriter: FieldBytesWriter {
    /// Unretained: the session owns its block and outlives the call the writer is lent to (a
    /// strong reference cost a retain and a release per stream opened).
    private let block: Unmanaged<HeaderBlock>
    /// The `:authority` field, added empty before the regular fields.
    private let authorityField: Int
    private var sawHost = false
    /// Set by a caller whose fields all have lower-case names (a head an HTTP/2 client sent,
    /// and the proxy's own fields): they are copied without being lower-cased again.
    public var namesAreLowercase = false

    init(block: HeaderBlock, authorityField: Int) {
        self.block = Unmanaged.passUnretained(block)
        self.authorityField = authorityField
    }

    /// Appends one field given as bytes.
    public mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let nameIsLowercase = self.namesAreLowercase
        let copied = self.block._withUnsafeGuaranteedRef { $0.appendCopying(name: name, value: value, nameIsLowercase: nameIsLowercase) }
        guard copied == .host, !self.sawHost else { return }
        self.sawHost = true
        let authorityField = self.authorityField
        self.block._withUnsafeGuaranteedRef { $0.setValue(ofField: authorityField, value) }
    }

    /// Appends a field the caller knows to be a Host field (its name any spelling of `host`):
    /// what `appendField` does with one (the first one's value becomes `:authority`; no Host
    /// field is sent), without judging the name.
    public mutating func appendHostField(value: UnsafeRawBufferPointer) {
        guard !self.sawHost else { return }
        self.sawHost = true
        let authorityField = self.authorityField
        self.block._withUnsafeGuaranteedRef { $0.setValue(ofField: authorityField, value) }
    }

    /// Appends a field the caller has judged ordinary: its name is not empty and is neither a
    /// pseudo-header nor Host nor a connection-specific field (RFC 9113 §8.2.2), so it is copied
    /// with none of those tests (lower-cased unless `namesAreLowercase`).
    public mutating func appendOrdinaryField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let nameIsLowercase = self.namesAreLowercase
        self.block._withUnsafeGuaranteedRef { $0.appendOrdinary(name: name, value: value, nameIsLowercase: nameIsLowercase) }
    }

    /// Appends a field whose name is a lower-case literal that HTTP/2 allows and that is not Host
    /// (the proxy's own `x-forwarded-proto`, `x-request-id`...): copied with none of a
    /// forwarded name's tests.
    public mutating func appendField(name lowercaseName: StaticString, value: UnsafeRawBufferPointer) {
        let name = UnsafeRawBufferPointer(start: lowercaseName.utf8Start, count: lowercaseName.utf8CodeUnitCount)
        self.block._withUnsafeGuaranteedRef { $0.appendOrdinary(name: name, value: value, nameIsLowercase: true) }
    }
}
