import NIOHTTP1

/// The request methods the proxy accepts: those llhttp (NIO's parser, used before) knows for
/// HTTP, so an unknown or misspelled method is refused the same way. Looked up from the bytes of
/// the request line without allocating. (NIO's `.MSEARCH` spells itself `MSEARCH` on the wire, so
/// M-SEARCH and QUERY travel as raw methods, exactly as the client sent them.)
enum HTTP1Method {
    private static let known: [(name: StaticString, method: HTTPMethod)] = [
        ("GET", .GET), ("PUT", .PUT), ("ACL", .ACL),
        ("HEAD", .HEAD), ("POST", .POST), ("COPY", .COPY), ("LOCK", .LOCK), ("MOVE", .MOVE), ("BIND", .BIND),
        ("LINK", .LINK),
        ("PATCH", .PATCH), ("TRACE", .TRACE), ("MKCOL", .MKCOL), ("MERGE", .MERGE), ("PURGE", .PURGE),
        ("QUERY", .RAW(value: "QUERY")),
        ("DELETE", .DELETE), ("UNLOCK", .UNLOCK), ("REBIND", .REBIND), ("UNBIND", .UNBIND), ("REPORT", .REPORT),
        ("NOTIFY", .NOTIFY), ("SEARCH", .SEARCH), ("UNLINK", .UNLINK), ("SOURCE", .SOURCE),
        ("CONNECT", .CONNECT), ("OPTIONS", .OPTIONS),
        ("M-SEARCH", .RAW(value: "M-SEARCH")), ("PROPFIND", .PROPFIND), ("CHECKOUT", .CHECKOUT),
        ("PROPPATCH", .PROPPATCH), ("SUBSCRIBE", .SUBSCRIBE),
        ("MKCALENDAR", .MKCALENDAR), ("MKACTIVITY", .MKACTIVITY),
        ("UNSUBSCRIBE", .UNSUBSCRIBE),
    ]

    /// The longest method name.
    static let maxLength = 11

    /// The method spelled by `bytes[start..<start+count]` (case-sensitive, as methods are).
    static func lookup(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> HTTPMethod? {
        guard count > 0, count <= maxLength else { return nil }
        for entry in known where entry.name.utf8CodeUnitCount == count {
            let name = entry.name.utf8Start
            var index = 0
            while index < count, bytes[start + index] == name[index] { index += 1 }
            if index == count { return entry.method }
        }
        return nil
    }

    /// Whether `bytes[start..<start+count]` can still grow into a known method.
    static func isPrefixOfKnown(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> Bool {
        guard count <= maxLength else { return false }
        for entry in known where entry.name.utf8CodeUnitCount >= count {
            let name = entry.name.utf8Start
            var index = 0
            while index < count, bytes[start + index] == name[index] { index += 1 }
            if index == count { return true }
        }
        return false
    }
}

/// Method tests by case. `method == .HEAD` on NIO's `HTTPMethod` resolves to the standard
/// library's `==` for `RawRepresentable`, which makes both raw strings and compares them (two
/// calls and a string comparison); the exchange asks several times per request. A `RAW` method
/// spelling one of these names counts as it, as under `==`.
extension HTTPMethod {
    var isHEAD: Bool {
        switch self {
        case .HEAD: return true
        case .RAW(let value): return value == "HEAD"
        default: return false
        }
    }

    var isCONNECT: Bool {
        switch self {
        case .CONNECT: return true
        case .RAW(let value): return value == "CONNECT"
        default: return false
        }
    }

    var isOPTIONS: Bool {
        switch self {
        case .OPTIONS: return true
        case .RAW(let value): return value == "OPTIONS"
        default: return false
        }
    }
}
