import Testing

@testable import MeshHTTP2

/// `:method` and `:scheme` are made from literals for the common values; every value, common or
/// not, must come out as its bytes decoded (case included: methods are case-sensitive).
@Suite struct PseudoHeaderStringTests {
    static func decoded(_ text: String, _ make: (UnsafeBufferPointer<UInt8>) -> String) -> String {
        Array(text.utf8).withUnsafeBufferPointer { make($0) }
    }

    @Test(arguments: ["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "get", "Post", "GETS", "PUX", "", "DELETES", "OPTION"])
    func methodsAreTheirBytes(_ method: String) {
        #expect(Self.decoded(method, InboundHeaderBlock.method) == method)
    }

    @Test(arguments: ["http", "https", "HTTP", "httpx", "ftp", "", "htt", "httpsx"])
    func schemesAreTheirBytes(_ scheme: String) {
        #expect(Self.decoded(scheme, InboundHeaderBlock.scheme) == scheme)
    }
}
