/// An integer's decimal digits (the bytes `String(value)` has), written on the stack and lent to
/// `body`: header values such as `:status`, `content-length` and `x-envoy-upstream-service-time`
/// with no string made (`String(Int)` goes through a generic `description` and allocates).
public enum DecimalText {
    @inlinable
    public static func withBytes<Result>(of value: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            // 20 places hold Int.min's magnitude's 19 digits and its sign.
            var start = digits.count
            var rest = value.magnitude
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            if value < 0 {
                start -= 1
                digits[start] = UInt8(ascii: "-")
            }
            return body(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(digits)[start...]))
        }
    }
}

extension HeaderFields {
    /// Appends `name` with `value` in decimal (`DecimalText`).
    public mutating func append(name: StaticString, decimal value: Int) {
        DecimalText.withBytes(of: value) { digits in
            self.append(name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value: digits)
        }
    }
}
