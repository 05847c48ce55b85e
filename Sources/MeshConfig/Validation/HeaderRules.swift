/// Istio's rules for HTTP header names and values: in matches, in CORS lists, and in the
/// `headers` set/add/remove operations (where Envoy's `%VARIABLE%` syntax applies to values).
enum HeaderRules {
    /// HTTP/2 pseudo headers, which a match may name.
    static let pseudoHeaders: Set<String> = [":method", ":scheme", ":authority", ":path", ":status"]

    /// Istio's header-name class: RFC 7230 `token` characters as Istio writes them in a regex
    /// class, `[!#$%&'*+-.^_`|~A-Za-z0-9]`, where `+-.` is a range and so also admits `,`.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            NameRules.isAlphanumeric(byte) || "!#$%&'*+,-.^_`|~".utf8.contains(byte)
        }
    }

    /// `@request.auth.claims.sub` or `@request.auth.claims[sub]`: routing on a JWT claim (gateways only).
    static func isJWTClaimRoute(_ name: String) -> Bool {
        let marker = "@request.auth.claims"
        guard name.lowercased().hasPrefix(marker) else { return false }
        let rest = name.utf8.dropFirst(marker.utf8.count)
        if rest.first == UInt8(ascii: ".") { return rest.count > 1 }
        return rest.first == UInt8(ascii: "[") && rest.last == UInt8(ascii: "]") && rest.count > 2
    }

    /// A header name in `headers` / `withoutHeaders` of a match.
    static func matchHeaderName(_ name: String) -> String? {
        if name.isEmpty { return "header name cannot be empty" }
        if isJWTClaimRoute(name) || pseudoHeaders.contains(name) { return nil }
        return isToken(name) ? nil : "header name \(name) is not a valid header name"
    }

    /// A header name in corsPolicy allowHeaders / exposeHeaders.
    static func corsHeaderName(_ name: String) -> String? {
        if name.isEmpty { return "header name cannot be empty" }
        if name == "*" { return nil }
        return isToken(name) ? nil : "header name \(name) is not a valid header name"
    }

    /// A header a route may add or set on the request: `:authority` and `host` are allowed (they
    /// rewrite the authority), other pseudo headers are not.
    static func requestSetHeaderName(_ name: String) -> String? {
        if name.isEmpty { return "header name cannot be empty" }
        if isInternalHeader(name) && !isAuthorityHeader(name) {
            return "invalid header \(NameRules.goQuoted(name)): header cannot have \":\" prefix"
        }
        return nil
    }

    /// A header removed from the request, or set/added/removed on the response.
    static func operationHeaderName(_ name: String) -> String? {
        if name.isEmpty { return "header name cannot be empty" }
        if name.lowercased() == "host" { return "invalid header \(NameRules.goQuoted(name)): cannot set Host header" }
        if isInternalHeader(name) { return "invalid header \(NameRules.goQuoted(name)): header cannot have \":\" prefix" }
        return nil
    }

    static func isInternalHeader(_ name: String) -> Bool { name.hasPrefix(":") || name.lowercased() == "host" }
    static func isAuthorityHeader(_ name: String) -> Bool { name.lowercased() == ":authority" || name.lowercased() == "host" }

    /// A header value Envoy accepts: no control characters except tab, and well-formed
    /// `%VARIABLE%` / `%VARIABLE(args)%` expressions (`%%` is a literal percent).
    static func headerValue(_ value: String) -> String? {
        let forbidden = value.utf8.contains { $0 <= 0x08 || ($0 >= 0x0A && $0 <= 0x1F) || $0 == 0x7F }
        if forbidden { return "header value configuration \(value) is invalid" }
        if let problem = envoyFormatProblem(value) { return "header value configuration: \(problem)" }
        return nil
    }

    private enum FormatState {
        case literal, variableName, expectArray, expectString, string, expectArrayDelimiterOrEnd, expectArgsEnd, expectVariableEnd
    }

    /// Envoy's header formatter grammar (source/common/router/header_parser.cc), as Istio ports it.
    static func envoyFormatProblem(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        var state = FormatState.literal
        var pos = 0
        while pos < bytes.count {
            let ch = bytes[pos]
            let hasNext = pos + 1 < bytes.count
            switch state {
            case .literal:
                if ch == UInt8(ascii: "%") {
                    guard hasNext else { return "invalid header configuration. Un-escaped %" }
                    if bytes[pos + 1] == UInt8(ascii: "%") {
                        pos += 1
                    } else {
                        state = .variableName
                    }
                }
            case .variableName:
                if ch == UInt8(ascii: "%") {
                    state = .literal
                } else if ch == UInt8(ascii: "(") {
                    state = .expectArray
                }
            case .expectArray:
                if ch == UInt8(ascii: "[") {
                    state = .expectString
                } else if ch != UInt8(ascii: " ") {
                    state = .string
                }
            case .expectArrayDelimiterOrEnd:
                if ch == UInt8(ascii: ",") {
                    state = .expectString
                } else if ch == UInt8(ascii: "]") {
                    state = .expectArgsEnd
                } else if ch != UInt8(ascii: " ") {
                    return "invalid header configuration. Expecting ',', ']', or whitespace"
                }
            case .expectString:
                if ch == UInt8(ascii: "\"") {
                    state = .string
                } else if ch != UInt8(ascii: " ") {
                    return "invalid header configuration. Expecting '\"'"
                }
            case .string:
                if ch == UInt8(ascii: "\\") {
                    guard hasNext else { return "invalid header configuration. Un-terminated backslash in JSON string" }
                    pos += 1
                } else if ch == UInt8(ascii: ")") {
                    state = .expectVariableEnd
                } else if ch == UInt8(ascii: "\"") {
                    state = .expectArrayDelimiterOrEnd
                }
            case .expectArgsEnd:
                if ch == UInt8(ascii: ")") {
                    state = .expectVariableEnd
                } else if ch != UInt8(ascii: " ") {
                    return "invalid header configuration. Expecting ')' or whitespace after '{}', but found '{}'"
                }
            case .expectVariableEnd:
                if ch == UInt8(ascii: "%") {
                    state = .literal
                } else if ch != UInt8(ascii: " ") {
                    return "invalid header configuration. Expecting '%' or whitespace after"
                }
            }
            pos += 1
        }
        return state == .literal ? nil : "invalid header configuration. Un-terminated variable expression '\(value)'"
    }

    /// Validates one `headers` block (of a route or of a route destination).
    static func validate(_ headers: Headers?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let headers else { return }
        if let request = headers.request {
            let requestPath = path / "request"
            for name in (request.add ?? [:]).keys.sorted() {
                findings.add(requestSetHeaderName(name), at: requestPath / "add" / name)
                findings.add(headerValue(request.add?[name] ?? ""), at: requestPath / "add" / name)
            }
            for name in (request.set ?? [:]).keys.sorted() {
                findings.add(requestSetHeaderName(name), at: requestPath / "set" / name)
                findings.add(headerValue(request.set?[name] ?? ""), at: requestPath / "set" / name)
            }
            for (i, name) in (request.remove ?? []).enumerated() {
                findings.add(operationHeaderName(name), at: (requestPath / "remove")[i])
            }
        }
        if let response = headers.response {
            let responsePath = path / "response"
            for name in (response.add ?? [:]).keys.sorted() {
                findings.add(operationHeaderName(name), at: responsePath / "add" / name)
                findings.add(headerValue(response.add?[name] ?? ""), at: responsePath / "add" / name)
            }
            for name in (response.set ?? [:]).keys.sorted() {
                findings.add(operationHeaderName(name), at: responsePath / "set" / name)
                findings.add(headerValue(response.set?[name] ?? ""), at: responsePath / "set" / name)
            }
            for (i, name) in (response.remove ?? []).enumerated() {
                findings.add(operationHeaderName(name), at: (responsePath / "remove")[i])
            }
        }
    }
}
