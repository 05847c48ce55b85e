import CNGHTTP2
@testable import MeshHTTP2
import Testing

/// Envoy refuses a request whose Host has characters no authority can have; these are the
/// values it lets through and the ones it refuses (RFC 3986 §3.2 characters).
@Suite struct AuthorityValidationTests {
    @Test(arguments: [
        "reviews", "reviews:9080", "reviews.default.svc.cluster.local.", "127.0.0.1:15001", "[::1]:80",
        "user@host", "a-b_c~d", "%41bc", "x!$&'()*+,;=y", "",
    ])
    func valid(_ authority: String) {
        #expect(AuthorityValidation.isValid(authority))
    }

    @Test(arguments: ["a b", "rev<iews", "re\"views", "a{b}", "a|b", "a\\b", "a^b", "a`b", "ü.example", "a\tb", "reviews.default.svc.cluster.local:90 80"])
    func invalid(_ authority: String) {
        #expect(!AuthorityValidation.isValid(authority))
    }
}

/// The Swift check accepts exactly the bytes libnghttp2's `nghttp2_check_authority` (Envoy's)
/// accepts.
@Suite struct AuthorityValidationParityTests {
    @Test func everyByteAgreesWithLibnghttp2() {
        for value in 0...255 {
            var byte = UInt8(value)
            let nghttp2 = nghttp2_check_authority(&byte, 1) != 0
            #expect(AuthorityValidation.isAllowed(byte) == nghttp2, "byte \(value)")
            if value < 0x80 {
                #expect(AuthorityValidation.isValid("a" + String(UnicodeScalar(byte)) + "b") == nghttp2, "byte \(value)")
            }
        }
    }
}
