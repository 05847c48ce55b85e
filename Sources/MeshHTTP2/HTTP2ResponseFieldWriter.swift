/// Writes a response head's regular fields straight into the header block it is submitted with
/// (`HTTP2ServerConnection.sendResponseHead(status:lending:stream:endStream:writeFields:)`), with
/// no `HeaderFields` edited in between: a proxy passes the upstream's fields on (or not) one by
/// one and adds its own. Names are lower-cased, pseudo-headers and the fields RFC 9113 §8.2.2
/// forbids are dropped, exactly as sending the same fields as `HeaderFields` does; a value that
/// lies in the lent fields' storage is pointed to rather than copied. Valid only during the
/// `writeFields` call it is lent to.
public struct HTTP2ResponseFieldWriter: FieldBytesWriter {
    /// Unretained: the session owns its block and outlives the call the writer is lent to.
    private let block: Unmanaged<HeaderBlock>

    init(block: HeaderBlock) {
        self.block = Unmanaged.passUnretained(block)
    }

    /// Appends one field given as bytes.
    public mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        self.block._withUnsafeGuaranteedRef { $0.appendLending(name: name, value: value) }
    }

    /// Appends a field of the lent fields that the caller has judged already: a name that is not
    /// empty, a pseudo-header or one RFC 9113 §8.2.2 forbids (`host`, `http2-settings` and the
    /// hop-by-hop fields), in any case unless `nameIsLowercase`. Nothing is tested here; any
    /// other field goes through `appendField(name:value:)`.
    public mutating func appendJudgedField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, nameIsLowercase: Bool) {
        self.block._withUnsafeGuaranteedRef { $0.appendLent(name: name, value: value, nameIsLowercase: nameIsLowercase) }
    }

    /// Appends a field whose name is a lower-case literal that HTTP/2 allows (the proxy's own
    /// `server`, `date`...): copied with none of a forwarded name's tests.
    public mutating func appendField(name lowercaseName: StaticString, value: UnsafeRawBufferPointer) {
        self.block._withUnsafeGuaranteedRef { $0.append(name: lowercaseName, value: value) }
    }
}
