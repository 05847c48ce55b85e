import MeshHTTP2
import MeshRouting
import NIOHTTP1

/// A decoded request as routing sees it: `RequestAttributes` over the client's head, without
/// copying its fields (a value becomes a string only when routing asks for it). A class: routing
/// takes it through unspecialized generic code, where each copy of a struct retained every string
/// in it. Absolute-form targets (`GET http://reviews/ HTTP/1.1`, what `curl -x` sends) give the
/// authority and path; otherwise the Host header does.
final class DownstreamRequest: RequestAttributes {
    let head: DownstreamRequestHead
    let authority: String
    let path: String
    let isAbsoluteForm: Bool

    var method: String { head.method.rawValue }
    var scheme: String { "http" }

    func header(_ lowercasedName: String) -> String? {
        head.fields.first(name: lowercasedName)
    }

    /// Every value of the header joined with "," (what Envoy's header matches compare), without
    /// allocating for the usual single value.
    func joinedHeader(_ lowercasedName: String) -> String? {
        var joined: String? = nil
        head.fields.forEachValue(named: lowercasedName) { bytes in
            let value = String(decoding: bytes, as: UTF8.self)
            joined = joined.map { $0 + "," + value } ?? value
        }
        return joined
    }

    /// The Cookie fields' values split at commas, as NIO's `HTTPHeaders[canonicalForm:]` gave
    /// them to the cookie hash (each piece is trimmed where its pairs are read).
    var cookieHeaderValues: [String] {
        var values: [String] = []
        head.fields.forEachValue(named: "cookie") { bytes in
            values.append(contentsOf: String(decoding: bytes, as: UTF8.self).split(separator: ",").map(String.init))
        }
        return values
    }

    enum ParseError: Error {
        case missingHost
        case duplicateHost
        case invalidAuthority
        case invalidTarget
    }

    init(head: DownstreamRequestHead) throws {
        self.head = head
        // RFC 9112 §3.2: more than one Host field line is refused, even when the values agree
        // (as nginx and HAProxy do); two Hosts that disagree are how requests get smuggled
        // past a proxy. Whatever the target's form.
        guard !head.contains(.secondHost) else { throw ParseError.duplicateHost }
        let uri = head.uri
        // RFC 3986 §3.5: a fragment is the client's, never part of a request target; Envoy
        // (since 1.19.1) refuses a path carrying one rather than route on it.
        guard !uri.utf8.contains(UInt8(ascii: "#")) else { throw ParseError.invalidTarget }
        if let schemeEnd = Self.absoluteFormAuthorityStart(uri) {
            let rest = uri[schemeEnd...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            guard !authority.isEmpty, !authority.contains("@") else { throw ParseError.invalidTarget }
            self.authority = String(authority)
            guard AuthorityValidation.isValid(self.authority) else { throw ParseError.invalidAuthority }
            var path = String(rest[authorityEnd...])
            if path.isEmpty || path.first == "?" { path = "/" + path }
            self.path = PathNormalization.normalized(path)
            isAbsoluteForm = true
            return
        }
        guard uri.first == "/" || uri == "*" else { throw ParseError.invalidTarget }
        let host = head.host
        guard let host, !host.isEmpty else {
            if head.version.major == 1 && head.version.minor == 0 {
                authority = ""
                path = PathNormalization.normalized(uri)
                isAbsoluteForm = false
                return
            }
            throw ParseError.missingHost
        }
        // Envoy refuses a Host with characters an authority cannot have (a space, quotes, "<").
        guard AuthorityValidation.isValid(host) else { throw ParseError.invalidAuthority }
        authority = host
        // Istio's default normalize_path: routing and the upstream see the normalized path.
        path = PathNormalization.normalized(uri)
        isAbsoluteForm = false
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
