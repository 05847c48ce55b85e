import NIOHTTP1
import Testing

@testable import MeshProxy

/// `isHEAD`, `isCONNECT` and `isOPTIONS` answer what `==` answers (it compares raw strings), for
/// every method the parser produces and for raw methods that spell those names or others.
@Suite struct HTTP1MethodTests {
    static let names = [
        "GET", "PUT", "ACL", "HEAD", "POST", "COPY", "LOCK", "MOVE", "BIND", "LINK", "PATCH", "TRACE", "MKCOL", "MERGE", "PURGE",
        "QUERY", "DELETE", "UNLOCK", "REBIND", "UNBIND", "REPORT", "NOTIFY", "SEARCH", "UNLINK", "SOURCE", "CONNECT", "OPTIONS",
        "M-SEARCH", "PROPFIND", "CHECKOUT", "PROPPATCH", "SUBSCRIBE", "MKCALENDAR", "MKACTIVITY", "UNSUBSCRIBE",
    ]

    @Test func caseTestsAgreeWithEquality() throws {
        var methods: [HTTPMethod] = []
        for name in Self.names {
            let parsed = Array(name.utf8).withUnsafeBytes { HTTP1Method.lookup($0, 0, $0.count) }
            methods.append(try #require(parsed, "\(name) is not a known method"))
        }
        methods += [.RAW(value: "HEAD"), .RAW(value: "CONNECT"), .RAW(value: "OPTIONS"), .RAW(value: "head"), .RAW(value: "X")]
        for method in methods {
            #expect(method.isHEAD == (method == .HEAD), "\(method)")
            #expect(method.isCONNECT == (method == .CONNECT), "\(method)")
            #expect(method.isOPTIONS == (method == .OPTIONS), "\(method)")
        }
        #expect(methods.filter(\.isHEAD).count == 2 && methods.filter(\.isCONNECT).count == 2 && methods.filter(\.isOPTIONS).count == 2)
    }
}
