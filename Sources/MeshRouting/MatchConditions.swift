import MeshConfig

/// The parts of a request the matchers read, fetched once per decision so that matching itself
/// is plain, non-generic code: header values by slot, the path and query as byte views.
struct RequestView {
    /// Views of the request's method, authority and scheme, empty when the table does not read
    /// them. Bytes, not strings: the view's three strings cost a release each per request, even
    /// empty ones (on Linux `swift_bridgeObjectRelease` calls `swift_release`).
    let method: UnsafeBufferPointer<UInt8>
    let authority: UnsafeBufferPointer<UInt8>
    let scheme: UnsafeBufferPointer<UInt8>
    let path: UnsafeBufferPointer<UInt8>
    let query: UnsafeBufferPointer<UInt8>
    /// The values of the headers the table reads, copied into one byte buffer, by slot: what
    /// the matchers read.
    let headerBytes: UnsafeBufferPointer<UInt8>
    let headerSpans: UnsafeBufferPointer<HeaderSpan>

    struct HeaderSpan {
        var offset: Int32
        /// -1: the header is missing.
        var length: Int32
    }

    /// The value of the header in `slot`, nil when the request lacks it.
    @inline(__always)
    func header(_ slot: Int) -> UnsafeBufferPointer<UInt8>? {
        let span = headerSpans[slot]
        if span.length < 0 { return nil }
        return headerBytes.slice(Int(span.offset)..<Int(span.offset + span.length))
    }
}

/// One condition of a match block, as compiled from the VirtualService.
///
/// Headers follow Envoy's semantics as Istio configures them: the name is compared
/// case-insensitively (stored lower-cased), the value case-sensitively. `withoutHeaders`
/// inverts the match and, unless it is a presence match, treats a missing header as empty
/// (`treat_missing_header_as_empty`), so a missing header satisfies it unless the condition is
/// `exact: ""`. Query parameters: the first parameter of that name (raw, not URL-decoded, as
/// Envoy compares them) must match; a parameter without `=` has the value "".
struct MatchCondition: Sendable, CustomStringConvertible {
    enum Subject: Sendable, Equatable {
        /// The path without query string or fragment.
        case path
        case method
        case authority
        case scheme
        /// `slot`: where the value sits in `RequestView.headerSpans`.
        case header(name: String, slot: Int)
        case query(name: String)
    }

    let subject: Subject
    let matcher: ByteMatcher
    /// `withoutHeaders`.
    let inverted: Bool

    var description: String {
        switch subject {
        case .path: return "uri \(matcher)"
        case .method: return "method \(matcher)"
        case .authority: return "authority \(matcher)"
        case .scheme: return "scheme \(matcher)"
        case .header(let name, _): return "\(inverted ? "withoutHeaders" : "headers") \(name): \(matcher)"
        case .query(let name): return "queryParams \(name): \(matcher)"
        }
    }

    /// The value the condition looked at, for explanations ("missing" when absent).
    func observed(in request: RequestView) -> String {
        func quoted(_ s: String) -> String { "\"\(s)\"" }
        switch subject {
        case .path: return "path " + quoted(String(decoding: request.path, as: UTF8.self))
        case .method: return "got " + quoted(String(decoding: request.method, as: UTF8.self))
        case .authority: return "got " + quoted(String(decoding: request.authority, as: UTF8.self))
        case .scheme: return "got " + quoted(String(decoding: request.scheme, as: UTF8.self))
        case .header(_, let slot): return request.header(slot).map { "got " + quoted(String(decoding: $0, as: UTF8.self)) } ?? "missing"
        case .query(let name):
            let range = QueryParameters.firstValue(named: Array(name.utf8), in: request.query)
            return range.map { "got " + quoted(String(decoding: request.query.slice($0), as: UTF8.self)) } ?? "missing"
        }
    }
}

/// One `match` block of an HTTP route, compiled: every condition in it must hold. Matching
/// itself runs on the table's flat `MatchProgram`; the block keeps what explanations print.
final class MatchBlock: Sendable {
    /// Position in the rule's `match` list.
    let index: Int
    let name: String?
    /// In evaluation order: uri, method, authority, scheme, headers, withoutHeaders, queryParams.
    let conditions: [MatchCondition]

    init(index: Int, name: String?, conditions: [MatchCondition]) {
        self.index = index
        self.name = name
        self.conditions = conditions
    }

    /// A one-line summary of the conditions, for explanations.
    var summary: String {
        conditions.isEmpty ? "(any request)" : conditions.map(\.description).joined(separator: ", ")
    }
}

enum QueryParameters {
    /// The value of the first parameter called `name` in `query` (the bytes after `?`), as a range.
    @inline(__always)
    static func firstValue(named name: UnsafeBufferPointer<UInt8>, in query: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var start = 0
        while start <= query.count {
            let end = query.firstIndex(of: UInt8(ascii: "&"), from: start) ?? query.count
            let pair = query.slice(start..<end)
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let key = pair.slice(0..<(equals ?? pair.count))
            if key.count == name.count && key.hasPrefix(name) {
                guard let equals else { return (start + pair.count)..<(start + pair.count) }
                return (start + equals + 1)..<end
            }
            start = end + 1
        }
        return nil
    }

    static func firstValue(named name: [UInt8], in query: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        name.withUnsafeBufferPointer { firstValue(named: $0, in: query) }
    }
}
