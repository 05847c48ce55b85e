import MeshConfig
import Testing

@testable import MeshRouting

/// A rule's corsPolicy compiles as Istio's TranslateCORSPolicy writes it for Envoy.
@Suite struct CORSRuleTests {
    func rule(_ cors: String) throws -> CORSRule? {
        let http = "  - corsPolicy: \(cors)\n    route: [{destination: {host: reviews}}]"
        guard case .forward(let forward) = try reviewsSnapshot(http: http).decide(request(authority: "reviews")) else { return nil }
        return forward.cors
    }

    @Test func listsAreJoinedAndMaxAgeIsWholeSeconds() throws {
        let cors = try #require(try rule("{allowOrigins: [{prefix: 'https://'}], allowMethods: [GET, PUT], exposeHeaders: [a, b], maxAge: 90.5s}"))
        #expect(cors.allowMethods == "GET,PUT")
        #expect(cors.exposeHeaders == "a,b")
        #expect(cors.allowHeaders == "")
        #expect(cors.maxAge == "90")
        #expect(!cors.allowCredentials)
        #expect(cors.forwardNotMatchingPreflights)
        #expect(cors.allows(origin: "https://x.example"))
        #expect(!cors.allows(origin: "http://x.example"))
    }

    /// The deprecated `allowOrigin` list is exact origins; `allowOrigins` wins when both are set.
    @Test func deprecatedAllowOriginIsExact() throws {
        let old = try #require(try rule("{allowOrigin: ['https://a.example'], unmatchedPreflights: IGNORE, allowCredentials: false}"))
        #expect(old.allows(origin: "https://a.example"))
        #expect(!old.allows(origin: "https://a.example.evil"))
        #expect(!old.forwardNotMatchingPreflights)
        let both = try #require(try rule("{allowOrigin: ['https://a.example'], allowOrigins: [{exact: 'https://b.example'}]}"))
        #expect(both.allows(origin: "https://b.example"))
        #expect(!both.allows(origin: "https://a.example"))
    }

    @Test func noPolicyNoRule() throws {
        let snapshot = try reviewsSnapshot(http: "  - route: [{destination: {host: reviews}}]")
        guard case .forward(let forward) = snapshot.decide(request(authority: "reviews")) else {
            Issue.record("not forwarded")
            return
        }
        #expect(forward.cors == nil)
    }
}
