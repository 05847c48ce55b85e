/// Where a run sends its requests: an `http://host[:port][/path]` URL.
public struct TargetURL: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address, without IPv6 brackets.
    public var host: String
    public var port: Int
    /// Request target: path plus query, "/" when the URL has none.
    public var pathAndQuery: String
    /// The URL's authority as a Host header carries it: host, brackets and a non-default port.
    public var authority: String

    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower.hasPrefix("https://") {
            throw LoadInputError("\(text): https is not supported; meshsim load speaks plain HTTP (use http://)")
        }
        guard lower.hasPrefix("http://") else {
            throw LoadInputError("\(text): not an http:// URL")
        }
        let rest = text.dropFirst("http://".count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authorityText = String(rest[..<authorityEnd])
        var target = String(rest[authorityEnd...])
        if let fragment = target.firstIndex(of: "#") { target = String(target[..<fragment]) }
        if target.isEmpty { target = "/" } else if target.first == "?" { target = "/" + target }
        guard !authorityText.isEmpty else { throw LoadInputError("\(text): the URL names no host") }
        guard !authorityText.contains("@") else { throw LoadInputError("\(text): credentials in the URL are not supported") }

        var hostPart: Substring
        var portPart: Substring?
        if authorityText.hasPrefix("[") {
            guard let close = authorityText.firstIndex(of: "]") else { throw LoadInputError("\(text): unterminated IPv6 address") }
            hostPart = authorityText[authorityText.index(after: authorityText.startIndex)..<close]
            let after = authorityText[authorityText.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { throw LoadInputError("\(text): unexpected text after the IPv6 address") }
                portPart = after.dropFirst()
            }
        } else if let colon = authorityText.lastIndex(of: ":") {
            hostPart = authorityText[..<colon]
            portPart = authorityText[authorityText.index(after: colon)...]
        } else {
            hostPart = Substring(authorityText)
        }
        guard !hostPart.isEmpty else { throw LoadInputError("\(text): the URL names no host") }
        var port = 80
        if let portPart {
            guard let value = Int(portPart), (1...65535).contains(value) else {
                throw LoadInputError("\(text): invalid port \"\(portPart)\"")
            }
            port = value
        }
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw LoadInputError("\(text): the path holds spaces or non-ASCII characters; percent-encode them")
        }
        self.host = String(hostPart)
        self.port = port
        self.pathAndQuery = target
        self.authority = authorityText
    }

    public var description: String { "http://\(authority)\(pathAndQuery)" }
}
