import MeshConfig
import Testing

@testable import MeshRouting

/// The literal prefix checked before calling RE2 must never reject a string RE2 would accept.
@Suite struct ByteMatchingTests {
    @Test(arguments: [
        ("tenant-0042-[a-z]+", "tenant-0042-"), ("/api/v[0-9]+/items", "/api/v"), ("^/login", "/login"), ("ab*c", "a"),
        ("a+b", "a"), ("ab?", "a"), ("a{2}b", ""), ("(?i)abc", ""), ("abc|def", ""), (".*", ""), ("\\d+", ""), ("[ab]c", ""),
        ("user=jason", "user=jason"),
    ])
    func literalPrefixIsConservative(pattern: String, expected: String) {
        #expect(ByteMatcher.literalPrefix(of: pattern) == Array(expected.utf8))
    }

    @Test(arguments: [
        ("ab*c", ["ac", "abc", "abbbc"], ["bc", "abd"]), ("a+b", ["ab", "aaab"], ["b"]), ("(?i)abc", ["ABC", "abc"], ["ab"]),
        ("abc|xyz", ["abc", "xyz"], ["abx"]), ("a{2}b", ["aab"], ["ab"]), ("x?y", ["y", "xy"], ["xx"]),
    ])
    func prefilteredRegexMatchesExactlyWhatRE2Matches(pattern: String, accepted: [String], rejected: [String]) throws {
        var diagnostics: [ConfigDiagnostic] = []
        let vs = VirtualService(
            kind: .virtualService, apiVersion: "networking.istio.io/v1", metadata: ObjectMeta(name: "t", namespace: "default"),
            spec: VirtualServiceSpec(), location: SourceLocation(file: "t.yaml", line: 1))
        let matcher = try #require(ByteMatcher.compile(StringMatch(regex: pattern), field: ["uri"], resource: vs, diagnostics: &diagnostics))
        let regex = try RE2Regex(pattern)
        for text in accepted + rejected {
            #expect(matcher.matches(text) == regex.fullMatch(text), "\(pattern) on \(text)")
            #expect(matcher.matches(text) == accepted.contains(text), "\(pattern) on \(text)")
        }
    }
}
