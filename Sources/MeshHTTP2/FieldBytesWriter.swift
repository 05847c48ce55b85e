/// A writer of header fields given as bytes (`HTTP2RequestFieldWriter`, `HTTP2ResponseFieldWriter`),
/// which then also takes them as strings.
public protocol FieldBytesWriter {
    mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
}

extension FieldBytesWriter {
    /// Appends one field given as strings (`withCString` lends their bytes without a retain).
    @inlinable
    public mutating func appendField(name: String, value: String) {
        let nameCount = name.utf8.count
        let valueCount = value.utf8.count
        name.withCString { namePointer in
            value.withCString { valuePointer in
                self.appendField(
                    name: UnsafeRawBufferPointer(start: namePointer, count: nameCount),
                    value: UnsafeRawBufferPointer(start: valuePointer, count: valueCount))
            }
        }
    }
}
