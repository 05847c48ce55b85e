import MeshHTTP2
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

    @Test(arguments: ["a b", "rev<iews", "re\"views", "a{b}", "a|b", "a\\b", "a^b", "a`b", "ü.example", "a\tb"])
    func invalid(_ authority: String) {
        #expect(!AuthorityValidation.isValid(authority))
    }
}
