/// Case-insensitive comparisons of HTTP field names against lower-case literals, on the bytes
/// and without allocating (hot paths compare every header of every request).
public enum FieldName {
    /// Whether `bytes`, ASCII-lower-cased, equal `lowercase`.
    @inlinable
    public static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for index in 0..<bytes.count {
            var byte = bytes[index]
            if byte &- UInt8(ascii: "A") < 26 { byte |= 0x20 }
            if byte != expected[index] { return false }
        }
        return true
    }

    /// Whether `bytes` (any collection of bytes: raw buffers, a string's UTF-8 view),
    /// ASCII-lower-cased, equal `lowercase`.
    @inlinable
    public static func equalsLowercase<Bytes: Collection>(_ bytes: Bytes, _ lowercase: StaticString) -> Bool
    where Bytes.Element == UInt8 {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        var index = 0
        for var byte in bytes {
            if byte &- UInt8(ascii: "A") < 26 { byte |= 0x20 }
            if byte != expected[index] { return false }
            index += 1
        }
        return true
    }

    /// Whether `name`, ASCII-lower-cased, equals `lowercase`.
    @inlinable
    public static func equalsLowercase(_ name: String, _ lowercase: StaticString) -> Bool {
        guard name.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        // Over the borrowed view: `withUTF8` would need a copy of the string (a retain).
        let expected = lowercase.utf8Start
        var index = 0
        for var byte in name.utf8 {
            if byte &- UInt8(ascii: "A") < 26 { byte |= 0x20 }
            if byte != expected[index] { return false }
            index += 1
        }
        return true
    }

    /// Whether `name` has an upper-case ASCII letter (HTTP/2 needs lower-case names).
    @inlinable
    public static func hasUppercase(_ name: String) -> Bool {
        name.utf8.contains { $0 &- UInt8(ascii: "A") < 26 }
    }

    /// Whether `name` starts with `lowercase`, ignoring ASCII case.
    @inlinable
    public static func hasLowercasePrefix(_ name: String, _ lowercase: StaticString) -> Bool {
        let expected = lowercase.utf8Start
        let count = lowercase.utf8CodeUnitCount
        var index = 0
        for var byte in name.utf8 {
            if index == count { return true }
            if byte &- UInt8(ascii: "A") < 26 { byte |= 0x20 }
            if byte != expected[index] { return false }
            index += 1
        }
        return index == count
    }
}
