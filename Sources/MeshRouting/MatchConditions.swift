import MeshConfig

/// A header condition (`headers` or `withoutHeaders`), with Envoy's semantics as Istio configures
/// them: the name is compared case-insensitively (stored lower-cased), the value case-sensitively.
/// `withoutHeaders` inverts the match and, unless it is a presence match, treats a missing
/// header as empty (`treat_missing_header_as_empty`), so a missing header satisfies it unless
/// the condition is `exact: ""`.
struct HeaderCondition: Sendable, CustomStringConvertible {
    let name: String
    let matcher: ByteMatcher
    let inverted: Bool

    var treatsMissingAsEmpty: Bool {
        if case .present = matcher { return false }
        return inverted
    }

    @inline(__always)
    func holds(_ value: String?) -> Bool {
        guard let value else {
            if treatsMissingAsEmpty { return matcher.matches(UnsafeBufferPointer(start: nil, count: 0)) != inverted }
            // A missing header: only an inverted presence match holds.
            if case .present = matcher { return inverted }
            return false
        }
        return matcher.matches(value) != inverted
    }

    var description: String { "\(inverted ? "withoutHeaders" : "headers") \(name): \(matcher)" }
}

/// A query parameter condition: the first parameter of that name (raw, not URL-decoded, as
/// Envoy compares them) must match; a parameter without `=` has the value "".
struct QueryCondition: Sendable, CustomStringConvertible {
    let name: [UInt8]
    let displayName: String
    let matcher: ByteMatcher

    /// The value of the first parameter called `name` in `query` (the bytes after `?`), as a range.
    @inline(__always)
    static func firstValue(named name: [UInt8], in query: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var start = 0
        while start <= query.count {
            let end = query.firstIndex(of: UInt8(ascii: "&"), from: start) ?? query.count
            let pair = query.slice(start..<end)
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let key = pair.slice(0..<(equals ?? pair.count))
            if key.equals(name) {
                guard let equals else { return (start + pair.count)..<(start + pair.count) }
                return (start + equals + 1)..<end
            }
            start = end + 1
        }
        return nil
    }

    @inline(__always)
    func holds(_ query: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let range = QueryCondition.firstValue(named: name, in: query) else { return false }
        return matcher.matches(query.slice(range))
    }

    var description: String { "queryParams \(displayName): \(matcher)" }
}

/// One `match` block of an HTTP route, compiled: every condition in it must hold.
struct MatchBlock: Sendable {
    /// Position in the rule's `match` list.
    let index: Int
    let name: String?
    let uri: ByteMatcher?
    let scheme: ByteMatcher?
    let method: ByteMatcher?
    let authority: ByteMatcher?
    let headers: [HeaderCondition]
    let queryParams: [QueryCondition]

    @inline(__always)
    func holds(_ request: some RequestAttributes, path: UnsafeBufferPointer<UInt8>, query: UnsafeBufferPointer<UInt8>) -> Bool {
        if let uri, !uri.matches(path) { return false }
        if let method, !method.matches(request.method) { return false }
        if let authority, !authority.matches(request.authority) { return false }
        if let scheme, !scheme.matches(request.scheme) { return false }
        for header in headers where !header.holds(request.header(header.name)) { return false }
        for parameter in queryParams where !parameter.holds(query) { return false }
        return true
    }

    /// Why the block does not hold (the first failing condition and the value seen), or nil.
    func mismatch(_ request: some RequestAttributes, path: UnsafeBufferPointer<UInt8>, query: UnsafeBufferPointer<UInt8>) -> String? {
        if let uri, !uri.matches(path) { return "uri \(uri) (path \"\(String(decoding: path, as: UTF8.self))\")" }
        if let method, !method.matches(request.method) { return "method \(method) (got \"\(request.method)\")" }
        if let authority, !authority.matches(request.authority) { return "authority \(authority) (got \"\(request.authority)\")" }
        if let scheme, !scheme.matches(request.scheme) { return "scheme \(scheme) (got \"\(request.scheme)\")" }
        for header in headers {
            let value = request.header(header.name)
            if !header.holds(value) { return "\(header) (\(value.map { "got \"\($0)\"" } ?? "missing"))" }
        }
        for parameter in queryParams where !parameter.holds(query) {
            let value = QueryCondition.firstValue(named: parameter.name, in: query).map { String(decoding: query.slice($0), as: UTF8.self) }
            return "\(parameter) (\(value.map { "got \"\($0)\"" } ?? "missing"))"
        }
        return nil
    }

    /// A one-line summary of the conditions, for explanations.
    var summary: String {
        var parts: [String] = []
        if let uri { parts.append("uri \(uri)") }
        if let method { parts.append("method \(method)") }
        if let authority { parts.append("authority \(authority)") }
        if let scheme { parts.append("scheme \(scheme)") }
        parts += headers.map(\.description)
        parts += queryParams.map(\.description)
        return parts.isEmpty ? "(any request)" : parts.joined(separator: ", ")
    }
}
