import MeshConfig
import Testing

@testable import MeshRouting

/// Match conditions, one by one, with the semantics Istio configures in Envoy.
@Suite struct MatchSemanticsTests {
    /// A VirtualService whose first rule has the given match blocks (YAML under `match:`), going
    /// to v2, and a catch-all second rule going to v1.
    func matching(_ matchYAML: String, options: RoutingOptions = RoutingOptions()) throws -> RoutingSnapshot {
        try reviewsSnapshot(
            http: """
                  - name: matched
                    match:
                \(matchYAML)
                    route:
                    - destination: {host: reviews, subset: v2}
                  - name: fallback
                    route:
                    - destination: {host: reviews, subset: v1}
                """, options: options)
    }

    func reachesV2(_ snapshot: RoutingSnapshot, _ request: RouteRequest) -> Bool {
        snapshot.clusterName(request) == cluster("v2")
    }

    @Test func firstMatchingRuleWinsEvenWhenALaterOneIsMoreSpecific() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - name: api
                    match: [{uri: {prefix: /api}}]
                    route: [{destination: {host: reviews, subset: v1}}]
                  - name: api-v2
                    match: [{uri: {prefix: /api/v2}}]
                    route: [{destination: {host: reviews, subset: v2}}]
                """)
        #expect(snapshot.ruleHeader(request("/api/v2/items")) == "default/reviews/api")
        #expect(snapshot.isNoRoute(request("/other")))
    }

    @Test func matchBlocksAreOredAndConditionsInABlockAnded() throws {
        let snapshot = try matching(
            """
                - uri: {prefix: /a}
                  method: {exact: POST}
                - headers: {x-debug: {exact: "1"}}
            """)
        #expect(reachesV2(snapshot, request("/a/x", method: "POST")))
        #expect(!reachesV2(snapshot, request("/a/x", method: "GET")))
        #expect(!reachesV2(snapshot, request("/b", method: "POST")))
        #expect(reachesV2(snapshot, request("/b", headers: [("x-debug", "1")])))
        let explanation = snapshot.explain(request("/b", headers: [("x-debug", "1")]))
        #expect(explanation.matchIndex == 1)
        #expect(explanation.rule == .init(index: 0, name: "matched"))
    }

    @Test func uriExactPrefixAndRegexIgnoreTheQueryString() throws {
        let exact = try matching("      - uri: {exact: /productpage}")
        #expect(reachesV2(exact, request("/productpage")))
        #expect(reachesV2(exact, request("/productpage?u=normal")))
        #expect(reachesV2(exact, request("/productpage#top")))
        #expect(!reachesV2(exact, request("/productpage/")))
        #expect(!reachesV2(exact, request("/Productpage")))

        let prefix = try matching("      - uri: {prefix: /static}")
        #expect(reachesV2(prefix, request("/static")))
        #expect(reachesV2(prefix, request("/staticfiles/x?y=/static")))
        #expect(!reachesV2(prefix, request("/api?path=/static")))

        let regex = try matching(#"      - uri: {regex: "/items/[0-9]+"}"#)
        #expect(reachesV2(regex, request("/items/42")))
        #expect(reachesV2(regex, request("/items/42?sort=asc")))
        // RE2 full match: a match inside the path is not enough.
        #expect(!reachesV2(regex, request("/items/42/reviews")))
        #expect(!reachesV2(regex, request("/v1/items/42")))
    }

    // Istio's default mesh pathNormalization (BASE) turns on Envoy's normalize_path for every
    // HTTP connection manager (buildHTTPConnectionManager, listener_builder.go): routes match the
    // RFC 3986 canonical path (PathUtil::canonicalPath).
    @Test func uriMatchesTheNormalizedPath() throws {
        let prefix = try matching("      - uri: {prefix: /admin}")
        #expect(reachesV2(prefix, request("/public/../admin/users")))
        #expect(reachesV2(prefix, request("/%61dmin?x=/../y")))
        #expect(reachesV2(prefix, request("/./admin")))
        #expect(!reachesV2(prefix, request("/admin/../public")))
        // An escaped slash is not decoded (path_with_escaped_slashes_action KEEP_UNCHANGED).
        #expect(!reachesV2(prefix, request("/x%2F..%2Fadmin")))
        let exact = try matching("      - uri: {exact: /a/b}")
        #expect(reachesV2(exact, request("/a/./b")))
        // A backslash is a slash to Chromium's canonicalizer.
        #expect(reachesV2(exact, request("/a\\b")))
    }

    @Test(arguments: [
        ("/a/b/../c", "/a/c"), ("/a/./b/.", "/a/b/"), ("/../../a", "/a"), ("/a/..", "/"), ("/%2e%2E/a", "/a"),
        ("/%7Euser/%41%2f", "/~user/A%2f"), ("/a//b", "/a//b"), ("/a?b=/../c", "/a?b=/../c"), ("*", "*"), ("/plain", "/plain"),
    ])
    func pathNormalization(target: String, expected: String) {
        #expect(PathNormalization.normalized(target) == expected)
    }

    /// The one-pass scan an HTTP/2 head uses says what the checks it replaced said: origin-form
    /// (starts with `/`, no `#`), and whether `normalized` changes the target.
    @Test(arguments: [
        "/", "", "*", "a/b", "/a/b", "/a#frag", "/a?q#f", "/%41", "/a\\b", "/./a", "/a/../b", "/a.b/c.", "/a?x=/./%41\\",
        "/ä/./ö", "/a?", "/.", "//", "/%", "/" + String(repeating: "long-segment/", count: 8) + "%7e",
    ])
    func originFormScanAgreesWithTheChecks(target: String) {
        let scan = PathNormalization.scanOriginForm(target)
        let isOriginForm = target.utf8.first == UInt8(ascii: "/") && !target.utf8.contains(UInt8(ascii: "#"))
        #expect(scan.isOriginForm == isOriginForm)
        if isOriginForm {
            // `needsWork` may say yes for a target `normalized` leaves alone (`/%`), never no
            // for one it changes.
            if !scan.needsWork { #expect(PathNormalization.normalized(target) == target) }
            #expect(scan.needsWork == Self.needsWork(target))
        }
    }

    /// `PathNormalization.needsWork`'s rule, written out.
    static func needsWork(_ target: String) -> Bool {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return path.contains("%") || path.contains("\\") || path.contains("/.")
    }

    @Test func ignoreUriCaseAppliesToExactAndPrefixButNotRegex() throws {
        let exact = try matching("      - {uri: {exact: /Login}, ignoreUriCase: true}")
        #expect(reachesV2(exact, request("/LOGIN")))
        #expect(reachesV2(exact, request("/login")))
        #expect(!reachesV2(exact, request("/logins")))
        let prefix = try matching("      - {uri: {prefix: /API/}, ignoreUriCase: true}")
        #expect(reachesV2(prefix, request("/api/x")))
        let regex = try matching("      - {uri: {regex: /login}, ignoreUriCase: true}")
        #expect(reachesV2(regex, request("/login")))
        #expect(!reachesV2(regex, request("/LOGIN")))
    }

    @Test func headerNamesAreCaseInsensitiveAndValuesCaseSensitive() throws {
        let snapshot = try matching("      - headers: {X-User-Group: {exact: beta}}")
        #expect(reachesV2(snapshot, request(headers: [("x-user-group", "beta")])))
        #expect(reachesV2(snapshot, request(headers: [("X-USER-GROUP", "beta")])))
        #expect(!reachesV2(snapshot, request(headers: [("x-user-group", "Beta")])))
        #expect(!reachesV2(snapshot, request(headers: [("x-user-group", "beta ")])))
        #expect(!reachesV2(snapshot, request()))
    }

    @Test func headerPrefixRegexAndPresence() throws {
        let prefix = try matching("      - headers: {user-agent: {prefix: curl/}}")
        #expect(reachesV2(prefix, request(headers: [("user-agent", "curl/8.5")])))
        #expect(!reachesV2(prefix, request(headers: [("user-agent", "Mozilla curl/8.5")])))
        let regex = try matching(#"      - headers: {cookie: {regex: "^(.*?;)?(user=jason)(;.*)?$"}}"#)
        #expect(reachesV2(regex, request(headers: [("cookie", "session=1;user=jason")])))
        #expect(!reachesV2(regex, request(headers: [("cookie", "user=jasonx")])))
        // `{}` and the regex `*` are presence matches (Istio's canBeConvertedToPresentMatch).
        for yaml in ["      - headers: {x-canary: {}}", #"      - headers: {x-canary: {regex: "*"}}"#] {
            let present = try matching(yaml)
            #expect(reachesV2(present, request(headers: [("x-canary", "")])))
            #expect(reachesV2(present, request(headers: [("x-canary", "anything")])))
            #expect(!reachesV2(present, request()))
        }
    }

    @Test func withoutHeadersHoldsWhenTheHeaderIsMissingOrDiffers() throws {
        let snapshot = try matching("      - withoutHeaders: {x-user-group: {exact: beta}}")
        #expect(reachesV2(snapshot, request()))
        #expect(reachesV2(snapshot, request(headers: [("x-user-group", "alpha")])))
        #expect(!reachesV2(snapshot, request(headers: [("x-user-group", "beta")])))
    }

    @Test func withoutHeadersTreatsAMissingHeaderAsEmpty() throws {
        // Envoy's treat_missing_header_as_empty: a missing header is "", which `exact: ""` matches.
        let empty = try matching(#"      - withoutHeaders: {x-trace: {exact: ""}}"#)
        #expect(!reachesV2(empty, request()))
        #expect(!reachesV2(empty, request(headers: [("x-trace", "")])))
        #expect(reachesV2(empty, request(headers: [("x-trace", "1")])))
        let regex = try matching(#"      - withoutHeaders: {x-trace: {regex: ".*"}}"#)
        #expect(!reachesV2(regex, request()))
    }

    @Test func withoutHeadersPresenceMeansAbsent() throws {
        let snapshot = try matching("      - withoutHeaders: {x-internal: {}}")
        #expect(reachesV2(snapshot, request()))
        #expect(!reachesV2(snapshot, request(headers: [("x-internal", "")])))
    }

    @Test func queryParamsExactEmptyRegexAndPrefix() throws {
        let exact = try matching("      - queryParams: {debug: {exact: \"true\"}}")
        #expect(reachesV2(exact, request("/p?debug=true")))
        #expect(reachesV2(exact, request("/p?a=1&debug=true&b")))
        #expect(!reachesV2(exact, request("/p?debug=TRUE")))
        #expect(!reachesV2(exact, request("/p?xdebug=true")))
        #expect(!reachesV2(exact, request("/p")))
        // The first occurrence decides (Envoy's getFirstValue).
        #expect(!reachesV2(exact, request("/p?debug=false&debug=true")))

        let empty = try matching(#"      - queryParams: {debug: {exact: ""}}"#)
        #expect(reachesV2(empty, request("/p?debug")))
        #expect(reachesV2(empty, request("/p?debug=")))
        #expect(!reachesV2(empty, request("/p?debug=1")))
        #expect(!reachesV2(empty, request("/p")))

        let regex = try matching(#"      - queryParams: {id: {regex: "[0-9]{3}"}}"#)
        #expect(reachesV2(regex, request("/p?id=123")))
        #expect(!reachesV2(regex, request("/p?id=1234")))

        // Istio translates prefix with its generic StringMatch conversion; Envoy honours it.
        let prefix = try matching("      - queryParams: {lang: {prefix: en}}")
        #expect(reachesV2(prefix, request("/p?lang=en-GB")))
        #expect(!reachesV2(prefix, request("/p?lang=fr")))
    }

    @Test func methodSchemeAndAuthorityMatches() throws {
        let method = try matching(#"      - method: {regex: "GET|HEAD"}"#)
        #expect(reachesV2(method, request(method: "HEAD")))
        #expect(!reachesV2(method, request(method: "POST")))
        let scheme = try matching("      - scheme: {exact: https}")
        #expect(!reachesV2(scheme, request()))
        #expect(reachesV2(scheme, RouteRequest(authority: "reviews", headers: [], scheme: "https")))
        let authority = try matching("      - authority: {prefix: reviews.default}")
        #expect(reachesV2(authority, request(authority: "reviews.default:9080")))
        #expect(!reachesV2(authority, request(authority: "reviews")))
    }

    @Test func portMatchKeepsOnlyBlocksForTheListenerPort() throws {
        let other = try matching("      - port: 9999")
        #expect(!reachesV2(other, request()))
        let explanation = other.explain(request())
        #expect(explanation.skippedRules.first?.reason.contains("port 9999, not 9080") == true)
        let same = try matching("      - port: 9080")
        #expect(reachesV2(same, request()))
    }

    @Test func gatewaysThatExcludeMeshNeverMatchSidecarTraffic() throws {
        let gateway = try matching("      - {gateways: [my-gateway], uri: {prefix: /}}")
        #expect(!reachesV2(gateway, request()))
        let mesh = try matching("      - {gateways: [my-gateway, mesh], uri: {prefix: /}}")
        #expect(reachesV2(mesh, request()))
    }

    @Test func sourceLabelsAndNamespaceAreCheckedAgainstTheSimulatedClient() throws {
        let labels = "      - sourceLabels: {app: productpage}"
        #expect(!reachesV2(try matching(labels), request()))
        #expect(reachesV2(try matching(labels, options: RoutingOptions(clientLabels: ["app": "productpage", "version": "v1"])), request()))
        let namespace = "      - sourceNamespace: frontend"
        #expect(!reachesV2(try matching(namespace), request()))
        #expect(reachesV2(try matching(namespace, options: RoutingOptions(clientNamespace: "frontend")), request(authority: "reviews.default")))
    }

    // Istio's validation accepts the pseudo-headers :method, :scheme, :authority and :path as
    // header match names (ValidateHTTPHeaderNameOrJwtClaimRoute, pkg/config/validation) and
    // route.go passes them to Envoy as they are; Envoy keeps the request line in them, and its
    // header map finds `:authority` when asked for `host` (HeaderMapImpl's static lookup table).
    @Test func pseudoHeadersAndHostInHeaderMatchesReadTheRequestLine() throws {
        let authority = try matching(#"      - headers: {":authority": {exact: "reviews:9080"}}"#)
        #expect(reachesV2(authority, request(authority: "reviews:9080")))
        #expect(!reachesV2(authority, request(authority: "reviews")))
        let host = try matching("      - headers: {host: {prefix: reviews.default}}")
        #expect(reachesV2(host, request(authority: "reviews.default:9080")))
        #expect(!reachesV2(host, request(authority: "reviews")))
        let method = try matching(#"      - headers: {":method": {exact: DELETE}}"#)
        #expect(reachesV2(method, request(method: "DELETE")))
        #expect(!reachesV2(method, request(method: "GET")))
        // :path is the whole request target, query included.
        let path = try matching(#"      - headers: {":path": {regex: "/p\\?debug=.*"}}"#)
        #expect(reachesV2(path, request("/p?debug=1")))
        #expect(!reachesV2(path, request("/p")))
        let scheme = try matching(#"      - headers: {":scheme": {exact: http}}"#)
        #expect(reachesV2(scheme, request()))
    }

    // Envoy matches a header against all its values joined with "," (HeaderUtility::
    // getAllOfHeaderAsString, source/common/http/header_utility.cc), not the first value alone.
    @Test func aRepeatedHeaderIsMatchedAsItsValuesJoinedWithCommas() throws {
        let twice = [("x-group", "beta"), ("X-Group", "gamma")]
        let exact = try matching("      - headers: {x-group: {exact: beta}}")
        #expect(!reachesV2(exact, request(headers: twice)))
        #expect(reachesV2(exact, request(headers: [("x-group", "beta")])))
        let joined = try matching(#"      - headers: {x-group: {exact: "beta,gamma"}}"#)
        #expect(reachesV2(joined, request(headers: twice)))
        let without = try matching("      - withoutHeaders: {x-group: {exact: beta}}")
        #expect(reachesV2(without, request(headers: twice)))
        #expect(snapshotExplains(exact, request(headers: twice), contains: "got \"beta,gamma\""))
    }

    func snapshotExplains(_ snapshot: RoutingSnapshot, _ request: RouteRequest, contains text: String) -> Bool {
        snapshot.explain(request).skippedRules.contains { $0.reason.contains(text) }
    }

    @Test func noMatchingRuleIsNoRouteWithReasons() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - name: beta
                    match: [{headers: {x-user-group: {exact: beta}}}]
                    route: [{destination: {host: reviews, subset: v2}}]
                """)
        #expect(snapshot.isNoRoute(request()))
        let explanation = snapshot.explain(request(headers: [("x-user-group", "alpha")]))
        #expect(explanation.status == 404)
        #expect(explanation.responseFlags == "NR")
        #expect(explanation.virtualService == "default/reviews")
        #expect(explanation.rule == nil)
        #expect(explanation.destinations.isEmpty)
        #expect(explanation.skippedRules.count == 1)
        #expect(explanation.skippedRules[0].reason.contains("got \"alpha\""))
    }
}
