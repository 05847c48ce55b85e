import MeshHTTP2
import MeshRouting
import NIOHTTP1

/// A decoded request as routing sees it: `RequestAttributes` over the client's head, without
/// copying its fields (a value becomes a string only when routing asks for it). A view made for
/// each routing call, holding only the head: the target it names (`authority`, `path`) is
/// resolved once, when the head is made (`DownstreamRequestHead.resolveTarget`). A request
/// object of its own cost an allocation, and retains and releases of its strings, per request.
///
/// The head is lent, not retained (a retain and a release per view): a view is made by the
/// exchange that holds the head (`let`), for calls it makes, and must not outlive them.
struct DownstreamRequest: RequestAttributes {
    private let lentHead: Unmanaged<DownstreamRequestHead>

    init(lending head: DownstreamRequestHead) {
        self.lentHead = Unmanaged.passUnretained(head)
    }

    var authority: String { lentHead._withUnsafeGuaranteedRef { $0.authority } }
    var path: String { lentHead._withUnsafeGuaranteedRef { $0.path } }
    var method: String { lentHead._withUnsafeGuaranteedRef { $0.method.rawValue } }
    var scheme: String { "http" }

    /// The authority's bytes read in place: `authority` returns a retained copy of the string.
    func withAuthorityUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        withAuthorityUTF8Result(body)
    }

    /// `withAuthorityUTF8` returning `body`'s result, for a caller in this module (inlined: no
    /// closure context made for it).
    @inline(__always)
    func withAuthorityUTF8Result<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        lentHead._withUnsafeGuaranteedRef { head in
            if let result = head.authority.utf8.withContiguousStorageIfAvailable(body) { return result }
            var copy = head.authority
            return copy.withUTF8(body)
        }
    }

    /// The path's bytes read in place, as `withAuthorityUTF8`.
    func withPathUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        lentHead._withUnsafeGuaranteedRef { head in
            if head.path.utf8.withContiguousStorageIfAvailable(body) != nil { return }
            var copy = head.path
            copy.withUTF8(body)
        }
    }

    /// A single ASCII value (the usual case) lent from the fields' bytes, found in one scan;
    /// anything else as `joinedHeader` makes it (several values joined, other bytes decoded as
    /// UTF-8 with replacement characters), so that matching sees the same bytes either way.
    func withJoinedHeaderUTF8(_ lowercasedName: String, _ body: (UnsafeBufferPointer<UInt8>?) -> Void) {
        lentHead._withUnsafeGuaranteedRef { head in
            // Host as its `:authority` (`hostIsAuthority`): one value, ASCII (nghttp2 checked it).
            if head.hostIsAuthority, lowercasedName == "host" { return withAuthorityUTF8 { body($0) } }
            var first = -1
            var count = 0
            var isASCII = true
            var index = 0
            var name = lowercasedName
            name.withUTF8 { wanted in
                head.fields.forEachField { fieldName, value in
                    if Self.equalsLowercased(fieldName, wanted) {
                        if count == 0 { first = index }
                        count += 1
                        if isASCII { isASCII = !value.contains { $0 >= 0x80 } }
                    }
                    index += 1
                }
            }
            if count == 0 { return body(nil) }
            if count == 1 && isASCII {
                return head.fields.withField(at: first) { _, value in body(value.assumingMemoryBound(to: UInt8.self)) }
            }
            var joined = joinedHeader(lowercasedName) ?? ""
            joined.withUTF8 { body($0) }
        }
    }

    /// Whether a field name is `lowercase` but for ASCII case.
    private static func equalsLowercased(_ name: UnsafeRawBufferPointer, _ lowercase: UnsafeBufferPointer<UInt8>) -> Bool {
        guard name.count == lowercase.count else { return false }
        for i in 0..<name.count {
            let byte = name[i]
            if (byte &- 65 < 26 ? byte | 0x20 : byte) != lowercase[i] { return false }
        }
        return true
    }

    func header(_ lowercasedName: String) -> String? {
        lentHead._withUnsafeGuaranteedRef { head in
            if head.hostIsAuthority, lowercasedName == "host" { return head.authority }
            return head.fields.first(name: lowercasedName)
        }
    }

    /// Every value of the header joined with "," (what Envoy's header matches compare), without
    /// allocating for the usual single value.
    func joinedHeader(_ lowercasedName: String) -> String? {
        if lentHead._withUnsafeGuaranteedRef({ $0.hostIsAuthority }), lowercasedName == "host" { return authority }
        var joined: String? = nil
        lentHead._withUnsafeGuaranteedRef { $0.fields }.forEachValue(named: lowercasedName) { bytes in
            let value = String(decoding: bytes, as: UTF8.self)
            joined = joined.map { $0 + "," + value } ?? value
        }
        return joined
    }

    /// The Cookie fields' values split at commas, as NIO's `HTTPHeaders[canonicalForm:]` gave
    /// them to the cookie hash (each piece is trimmed where its pairs are read).
    var cookieHeaderValues: [String] {
        var values: [String] = []
        lentHead._withUnsafeGuaranteedRef { $0.fields }.forEachValue(named: "cookie") { bytes in
            values.append(contentsOf: String(decoding: bytes, as: UTF8.self).split(separator: ",").map(String.init))
        }
        return values
    }
}

/// How the target of a request is resolved (Envoy's and the RFCs' rules), once per head.
extension DownstreamRequestHead {
    enum ParseError: Error {
        case missingHost
        case duplicateHost
        case invalidAuthority
        case invalidTarget
    }

    /// The target's authority and normalized path, or why the request is refused (400).
    struct ResolvedTarget {
        var authority = ""
        var path = ""
        var error: ParseError?
    }

    static func resolveTarget(uri: String, host: String?, version: HTTPVersion, known: KnownRequestFields) -> ResolvedTarget {
        // RFC 9112 §3.2: more than one Host field line is refused, even when the values agree
        // (as nginx and HAProxy do); two Hosts that disagree are how requests get smuggled
        // past a proxy. Whatever the target's form.
        guard known[.secondHost] == nil else { return ResolvedTarget(error: .duplicateHost) }
        // RFC 3986 §3.5: a fragment is the client's, never part of a request target; Envoy
        // (since 1.19.1) refuses a path carrying one rather than route on it.
        guard !uri.utf8.contains(UInt8(ascii: "#")) else { return ResolvedTarget(error: .invalidTarget) }
        if let schemeEnd = Self.absoluteFormAuthorityStart(uri) {
            let rest = uri[schemeEnd...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            guard !authority.isEmpty, !authority.contains("@") else { return ResolvedTarget(error: .invalidTarget) }
            let authorityString = String(authority)
            guard AuthorityValidation.isValid(authorityString) else { return ResolvedTarget(error: .invalidAuthority) }
            var path = String(rest[authorityEnd...])
            if path.isEmpty || path.first == "?" { path = "/" + path }
            return ResolvedTarget(authority: authorityString, path: PathNormalization.normalized(path))
        }
        // The first byte, not `first`: a Character is a string made per request.
        guard uri.utf8.first == UInt8(ascii: "/") || uri == "*" else { return ResolvedTarget(error: .invalidTarget) }
        guard let host, !host.isEmpty else {
            if version.major == 1 && version.minor == 0 {
                return ResolvedTarget(authority: "", path: PathNormalization.normalized(uri))
            }
            return ResolvedTarget(error: .missingHost)
        }
        // Envoy refuses a Host with characters an authority cannot have (a space, quotes, "<").
        guard AuthorityValidation.isValid(host) else { return ResolvedTarget(error: .invalidAuthority) }
        // Istio's default normalize_path: routing and the upstream see the normalized path.
        return ResolvedTarget(authority: host, path: PathNormalization.normalized(uri))
    }

    /// Index after `http://` or `https://` (case-insensitive) when `uri` is in absolute form.
    private static func absoluteFormAuthorityStart(_ uri: String) -> String.Index? {
        guard let first = uri.utf8.first, first == UInt8(ascii: "h") || first == UInt8(ascii: "H") else { return nil }
        let lower = uri.prefix(8).lowercased()
        if lower.hasPrefix("http://") { return uri.index(uri.startIndex, offsetBy: 7) }
        if lower.hasPrefix("https://") { return uri.index(uri.startIndex, offsetBy: 8) }
        return nil
    }
}
