import NIOHTTP1

/// Conversions between byte fields and NIO's `HTTPHeaders`, for the callers that work in
/// strings (simulated pods, the load generator, tests) at the edges of the proxy path.
extension HeaderFields {
    /// The fields of `headers`, in order, names as given.
    public init(_ headers: HTTPHeaders) {
        self.init(fieldCapacity: headers.count)
        for (name, value) in headers { self.append(name: name, value: value) }
    }

    /// The fields as `HTTPHeaders` (a string per name and value).
    public var httpHeaders: HTTPHeaders {
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(self.count)
        for index in 0..<self.count { pairs.append((self.name(at: index), self.value(at: index))) }
        return HTTPHeaders(pairs)
    }
}

extension HeaderFields: Equatable {
    /// Equal when the same fields (names compared exactly) come in the same order.
    public static func == (lhs: HeaderFields, rhs: HeaderFields) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count {
            let same = lhs.withField(at: index) { lhsName, lhsValue in
                rhs.withField(at: index) { rhsName, rhsValue in
                    lhsName.elementsEqual(rhsName) && lhsValue.elementsEqual(rhsValue)
                }
            }
            if !same { return false }
        }
        return true
    }
}

extension HeaderFields: CustomStringConvertible {
    public var description: String {
        (0..<self.count).map { "\(self.name(at: $0)): \(self.value(at: $0))" }.joined(separator: "\n")
    }
}
