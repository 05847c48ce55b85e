import NIOHTTP1

/// Conversions between HTTP/1.1 heads (NIOHTTP1) and HTTP/2 heads, for a proxy that speaks one
/// on each side. Hop-by-hop fields do not cross (RFC 9113 §8.2.2, RFC 9110 §7.6.1).
extension HTTP2RequestHead {
    /// `:authority` from Host, `:path` from the request target; `Connection`, the fields it
    /// names, and the other connection-specific fields are dropped.
    public init(http1 head: HTTPRequestHead, scheme: String = "http") {
        self.init(
            method: head.method.rawValue,
            scheme: scheme,
            authority: head.headers.first(name: "host") ?? "",
            path: head.uri,
            headers: HTTP1Bridging.endToEndFields(head.headers)
        )
    }

    /// A proxy's forwarded head: its fields are end-to-end already (hop-by-hop ones removed), so
    /// they cross without a copy; Host becomes `:authority`, and the connection-specific fields
    /// left (Host, a re-framing Transfer-Encoding) are dropped when the block is sent.
    public init(forwarding head: HTTPRequestHead, scheme: String = "http") {
        self.init(
            method: head.method.rawValue, scheme: scheme, authority: head.headers.first(name: "host") ?? "",
            path: head.uri, headers: head.headers)
    }

    /// An HTTP/1.1 head with Host set from `:authority` (unless the fields carry one).
    public var http1: HTTPRequestHead {
        var headers = self.headers
        if !self.authority.isEmpty && !headers.contains(name: "host") {
            headers.replaceOrAdd(name: "host", value: self.authority)
        }
        return HTTPRequestHead(
            version: .http1_1,
            method: HTTPMethod(rawValue: self.method),
            uri: self.path,
            headers: headers
        )
    }
}

extension HTTP2ResponseHead {
    public init(http1 head: HTTPResponseHead) {
        self.init(status: Int(head.status.code), headers: HTTP1Bridging.endToEndFields(head.headers))
    }

    public var http1: HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: self.status), headers: self.headers)
    }
}

enum HTTP1Bridging {
    /// The fields of an HTTP/1.1 head that may travel in HTTP/2, names lower-cased.
    static func endToEndFields(_ headers: HTTPHeaders) -> HTTPHeaders {
        // The usual head has no Connection header and lower-case names, and nothing to drop:
        // then it crosses as it is, without a copy.
        var named: Set<String> = []
        var clean = true
        for (name, value) in headers {
            if FieldName.hasUppercase(name) || HeaderBlock.isConnectionSpecific(name, value: value) { clean = false }
            if FieldName.equalsLowercase(name, "connection") {
                clean = false
                for token in value.split(separator: ",") { named.insert(Self.trimmed(token).lowercased()) }
            }
        }
        if clean { return headers }
        var result = HTTPHeaders()
        for (name, value) in headers {
            let lowered = name.lowercased()
            if HeaderBlock.isConnectionSpecific(lowered, value: value) || named.contains(lowered) { continue }
            result.add(name: lowered, value: value)
        }
        return result
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let isSpace = { (character: Character) in character == " " || character == "\t" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return text[first...last]
    }
}
