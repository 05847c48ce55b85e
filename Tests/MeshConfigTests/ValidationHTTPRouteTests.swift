import Foundation
import Testing

@testable import MeshConfig

private let dest = "route: [{destination: {host: foo.bar}}]"
private let delegate = "delegate: {name: test, namespace: test}"
private let redirect = "redirect: {uri: /, authority: foo.biz}"

private func headers(_ section: String, _ operations: String) -> String {
    "{route: [{destination: {host: foo.baz}, headers: {\(section): \(operations)}}]}"
}

// Ported from Istio pkg/config/validation/validation_test.go: TestValidateHTTPRoute (all cases
// but "match with nil element", which meshsim's strict decoder rejects when loading).
let istioHTTPRouteCases: [RuleCase] = [
    RuleCase("empty", "{}", valid: false),
    RuleCase("simple", "{route: [{destination: {host: foo.baz}}]}", valid: true),
    RuleCase("no destination", "{route: [{}]}", valid: false),
    RuleCase("weighted", "{route: [{destination: {host: foo.baz.south}, weight: 25}, {destination: {host: foo.baz.east}, weight: 75}]}", valid: true),
    RuleCase("total weight > 100", "{route: [{destination: {host: foo.baz.south}, weight: 550}, {destination: {host: foo.baz.east}, weight: 500}]}", valid: true),
    RuleCase("total weight < 100", "{route: [{destination: {host: foo.baz.south}, weight: 49}, {destination: {host: foo.baz.east}, weight: 50}]}", valid: true),
    RuleCase("simple redirect", "{redirect: {uri: /lerp, authority: foo.biz}}", valid: true),
    RuleCase("prefix_rewrite redirect with prefix URI match", "{match: [{uri: {prefix: /foo}}], redirect: {prefixRewrite: /bar}}", valid: true),
    RuleCase("prefix_rewrite redirect with exact URI match is invalid", "{match: [{uri: {exact: /foo}}], redirect: {prefixRewrite: /bar}}", valid: false),
    RuleCase("prefix_rewrite redirect with regex URI match is invalid", "{match: [{uri: {regex: /foo.*}}], redirect: {prefixRewrite: /bar}}", valid: false),
    RuleCase("prefix_rewrite redirect with no URI match (wildcard) is valid", "{match: [{headers: {x-foo: {exact: bar}}}], redirect: {prefixRewrite: /bar}}", valid: true),
    RuleCase("conflicting redirect and route", "{route: [{destination: {host: foo.baz}}], redirect: {uri: /lerp, authority: foo.biz}}", valid: false),
    RuleCase("request response headers", "{route: [{destination: {host: foo.baz}}]}", valid: true),
    RuleCase("valid headers", headers("request", "{add: {name: ''}, set: {name: ''}, remove: [name]}, response: {add: {name: ''}, set: {name: ''}, remove: [name]}"), valid: true),
    RuleCase("empty header name - request add", headers("request", "{add: {'': value}}"), valid: false),
    RuleCase("empty header name - request set", headers("request", "{set: {'': value}}"), valid: false),
    RuleCase("empty header name - request remove", headers("request", "{remove: ['']}"), valid: false),
    RuleCase("empty header name - response add", headers("response", "{add: {'': value}}"), valid: false),
    RuleCase("empty header name - response set", headers("response", "{set: {'': value}}"), valid: false),
    RuleCase("empty header name - response remove", headers("response", "{remove: ['']}"), valid: false),
    RuleCase("envoy escaped % set", headers("response", "{set: {i-love-istio: '100%%'}}"), valid: true),
    RuleCase("envoy variable set", headers("response", "{set: {name: '%HOSTNAME%'}}"), valid: true),
    RuleCase("envoy unescaped % set", headers("response", "{set: {name: 'abcd%oijasodifj'}}"), valid: false),
    RuleCase("envoy escaped % add", headers("response", "{add: {i-love-istio: '100%% and more'}}"), valid: true),
    RuleCase("envoy variable add", headers("response", "{add: {name: 'hello %HOSTNAME%'}}"), valid: true),
    RuleCase("envoy unescaped % add", headers("response", "{add: {name: 'abcd%oijasodifj'}}"), valid: false),
    RuleCase("empty prefix header match", "{\(dest), match: [{headers: {emptyprefix: {prefix: ''}}}]}", valid: false),
    RuleCase("nil match", "{\(dest)}", valid: true),
    RuleCase("invalid mirror percent", "{mirrorPercent: 101, \(dest)}", valid: false),
    RuleCase("invalid mirror percentage", "{mirrorPercentage: {value: 101}, \(dest)}", valid: false),
    RuleCase("valid mirror percentage", "{mirrorPercentage: {value: 1}, \(dest)}", valid: true),
    RuleCase("negative mirror percentage", "{mirrorPercentage: {value: -1}, \(dest)}", valid: false),
    RuleCase("mirrors without destination", "{mirrors: [{}], \(dest)}", valid: false),
    RuleCase("mirrors invalid mirror percentage", "{mirrors: [{destination: {host: foo.baz}}, {destination: {host: foo.baz}, percentage: {value: 101}}], \(dest)}", valid: false),
    RuleCase("mirrors valid mirror percentage", "{mirrors: [{destination: {host: foo.baz}, percentage: {value: 1}}, {destination: {host: foo.baz}, percentage: {value: 50}}], \(dest)}", valid: true),
    RuleCase("mirrors negative mirror percentage", "{mirrors: [{destination: {host: foo.baz}, percentage: {value: -1}}], \(dest)}", valid: false),
    RuleCase("conflicting mirror and mirrors", "{mirror: {host: foo.baz}, mirrors: [{destination: {host: foo.bar}}], route: [{destination: {host: foo.baz}}]}", valid: false),
]

// Ported from Istio pkg/config/validation/virtualservice_test.go: TestValidateRootHTTPRoute
// (all cases but "null header match", which meshsim's decoder rejects when loading).
let istioRootHTTPRouteCases: [RuleCase] = [
    RuleCase("simple", "{\(delegate)}", valid: true),
    RuleCase("route and delegate conflict", "{route: [{destination: {host: foo.baz}}], \(delegate)}", valid: false),
    RuleCase("redirect and delegate conflict", "{redirect: {uri: /lerp, authority: foo.biz}, \(delegate)}", valid: false),
    RuleCase("prefix header match", "{\(delegate), match: [{headers: {header: {prefix: test}}}]}", valid: true),
    RuleCase("empty prefix header match (delegate)", "{\(delegate), match: [{headers: {header: {prefix: ''}}}]}", valid: false),
    RuleCase("exact header match", "{\(delegate), match: [{headers: {header: {exact: test}}}]}", valid: true),
    RuleCase("regex header match", "{\(delegate), match: [{headers: {header: {regex: test}}}]}", valid: true),
    RuleCase("exact without headers match", "{\(redirect), match: [{withoutHeaders: {header: {exact: test}}}]}", valid: true),
    RuleCase("regex without headers match", "{\(redirect), match: [{withoutHeaders: {header: {regex: test}}}]}", valid: true),
    RuleCase("regex without headers match ?", "{\(redirect), match: [{withoutHeaders: {header: {regex: '?'}}}]}", valid: false),
    RuleCase("regex without headers match *", "{\(redirect), match: [{withoutHeaders: {header: {regex: '*'}}}]}", valid: true),
    RuleCase("regex uri match", "{\(delegate), match: [{uri: {regex: test}}]}", valid: true),
    RuleCase("prefix uri match", "{\(delegate), match: [{uri: {prefix: test}}]}", valid: true),
    RuleCase("exact uri match", "{\(delegate), match: [{uri: {exact: test}}]}", valid: true),
    RuleCase("prefix queryParams match", "{\(delegate), match: [{queryParams: {q: {prefix: test}}}]}", valid: true),
    RuleCase("exact queryParams match", "{\(delegate), match: [{queryParams: {q: {exact: test}}}]}", valid: true),
    RuleCase("regex queryParams match", "{\(delegate), match: [{queryParams: {q: {regex: test}}}]}", valid: true),
    RuleCase("empty prefix match in method", "{\(redirect), match: [{method: {prefix: ''}}]}", valid: false),
    RuleCase("empty regex match in method", "{\(redirect), match: [{method: {regex: ''}}]}", valid: false),
    RuleCase("empty prefix match in uri", "{\(redirect), match: [{uri: {prefix: ''}}]}", valid: true),
    RuleCase("empty regex match in uri", "{\(redirect), match: [{uri: {regex: ''}}]}", valid: false),
    RuleCase("empty regex match in query", "{\(redirect), match: [{queryParams: {q: {regex: ''}}}]}", valid: false),
    RuleCase("empty regex match in scheme", "{\(redirect), match: [{scheme: {regex: ''}}]}", valid: false),
    RuleCase("empty prefix match in scheme", "{\(redirect), match: [{scheme: {prefix: ''}}]}", valid: false),
    RuleCase("empty prefix header match", "{\(redirect), match: [{headers: {header: {prefix: ''}}}]}", valid: false),
]

// Ported from Istio pkg/config/validation/virtualservice_test.go: TestValidateDelegateHTTPRoute
// (all cases but "null header match" and "match with nil element", rejected when loading).
let istioDelegateHTTPRouteCases: [RuleCase] = [
    RuleCase("empty", "{}", valid: false),
    RuleCase("simple", "{route: [{destination: {host: foo.baz}}]}", valid: true),
    RuleCase("no destination", "{route: [{}]}", valid: false),
    RuleCase("weighted", "{route: [{destination: {host: foo.baz.south}, weight: 25}, {destination: {host: foo.baz.east}, weight: 75}]}", valid: true),
    RuleCase("total weight > 100", "{route: [{destination: {host: foo.baz.south}, weight: 550}, {destination: {host: foo.baz.east}, weight: 500}]}", valid: true),
    RuleCase("total weight < 100", "{route: [{destination: {host: foo.baz.south}, weight: 49}, {destination: {host: foo.baz.east}, weight: 50}]}", valid: true),
    RuleCase("simple redirect", "{redirect: {uri: /lerp, authority: foo.biz}}", valid: true),
    RuleCase("conflicting redirect and route", "{route: [{destination: {host: foo.baz}}], redirect: {uri: /lerp, authority: foo.biz}}", valid: false),
    RuleCase("request response headers", "{route: [{destination: {host: foo.baz}}]}", valid: true),
    RuleCase("valid headers", headers("request", "{add: {name: ''}, set: {name: ''}, remove: [name]}, response: {add: {name: ''}, set: {name: ''}, remove: [name]}"), valid: true),
    RuleCase("empty header name - request add", headers("request", "{add: {'': value}}"), valid: false),
    RuleCase("empty header name - request set", headers("request", "{set: {'': value}}"), valid: false),
    RuleCase("empty header name - request remove", headers("request", "{remove: ['']}"), valid: false),
    RuleCase("empty header name - response add", headers("response", "{add: {'': value}}"), valid: false),
    RuleCase("empty header name - response set", headers("response", "{set: {'': value}}"), valid: false),
    RuleCase("empty header name - response remove", headers("response", "{remove: ['']}"), valid: false),
    RuleCase("nil match", "{\(dest)}", valid: true),
    RuleCase("invalid mirror percent", "{mirrorPercent: 101, \(dest)}", valid: false),
    RuleCase("invalid mirror percentage", "{mirrorPercentage: {value: 101}, \(dest)}", valid: false),
    RuleCase("valid mirror percentage", "{mirrorPercentage: {value: 1}, \(dest)}", valid: true),
    RuleCase("negative mirror percentage", "{mirrorPercentage: {value: -1}, \(dest)}", valid: false),
    RuleCase("delegate route with delegate", "{\(delegate)}", valid: false),
]

@Suite struct ValidationHTTPRouteTests {
    @Test(arguments: istioHTTPRouteCases)
    func httpRoute(_ testCase: RuleCase) throws {
        let route = try Fixture.httpRoute(testCase.yaml)
        expectVerdict(Fixture.findings { HTTPRouteRules.validate(route, inDelegate: false, gatewaySemantics: false, at: ["http", 0], into: &$0) }, testCase)
    }

    @Test(arguments: istioRootHTTPRouteCases)
    func rootHTTPRoute(_ testCase: RuleCase) throws {
        let route = try Fixture.httpRoute(testCase.yaml)
        expectVerdict(Fixture.findings { HTTPRouteRules.validate(route, inDelegate: false, gatewaySemantics: false, at: ["http", 0], into: &$0) }, testCase)
    }

    @Test(arguments: istioDelegateHTTPRouteCases)
    func delegateHTTPRoute(_ testCase: RuleCase) throws {
        let route = try Fixture.httpRoute(testCase.yaml)
        expectVerdict(Fixture.findings { HTTPRouteRules.validate(route, inDelegate: true, gatewaySemantics: false, at: ["http", 0], into: &$0) }, testCase)
    }

    /// Istio rejects a null StringMatch in a header match; meshsim's decoder rejects it on load.
    @Test func nullHeaderMatchIsRejectedOnLoad() {
        let result = ConfigLoader().load(text: """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: vs}
            spec: {hosts: [a.b], http: [{match: [{headers: {header: null}}], route: [{destination: {host: a.b}}]}]}
            """, file: "vs.yaml")
        #expect(result.hasErrors)
    }

    @Test func conflictMessagesAndPathsAreIstios() throws {
        let route = try Fixture.httpRoute("{name: r, route: [{destination: {host: a.b}}], redirect: {uri: /x}, fault: {abort: {httpStatus: 500}}, mirror: {host: a.b}, mirrors: [{destination: {host: a.b}}]}")
        let findings = Fixture.findings { HTTPRouteRules.conflicts(route, kind: .independent, at: ["http", 2], into: &$0) }
        #expect(findings.items.map(\.description) == [
            "error: http[2].route: HTTP route cannot contain both route and redirect",
            "error: http[2].fault: HTTP route cannot contain both fault and redirect",
            "error: http[2].mirrors: HTTP route cannot contain both mirror and mirrors",
        ])
        let root = try Fixture.httpRoute("{name: r, route: [{destination: {host: a.b}}], \(delegate)}")
        #expect(Fixture.findings { HTTPRouteRules.conflicts(root, kind: .root, at: ["http", 0], into: &$0) }.messages
            == ["root HTTP route r must not specify route"])
        let empty = try Fixture.httpRoute("{}")
        #expect(Fixture.findings { HTTPRouteRules.conflicts(empty, kind: .independent, at: ["http", 0], into: &$0) }.messages
            == ["HTTP route, redirect or direct_response is required"])
        let direct = try Fixture.httpRoute("{directResponse: {status: 503}, rewrite: {uri: /x}}")
        #expect(Fixture.findings { HTTPRouteRules.conflicts(direct, kind: .independent, at: ["http", 0], into: &$0) }.messages
            == ["HTTP route rule cannot contain both rewrite and direct_response"])
    }

    // Ported from TestValidateRouteDestination (all cases).
    @Test(arguments: [
        RuleCase("simple", "[{destination: {host: foo.baz}}]", valid: true),
        RuleCase("wildcard dash", "[{destination: {host: '*-foo.baz'}}]", valid: true),
        RuleCase("wildcard prefix", "[{destination: {host: '*foo.baz'}}]", valid: true),
        RuleCase("wildcard", "[{destination: {host: '*'}}]", valid: false),
        RuleCase("bad wildcard", "[{destination: {host: 'foo.*'}}]", valid: false),
        RuleCase("bad fqdn", "[{destination: {host: default/baz}}]", valid: false),
        RuleCase("no destination", "[{}]", valid: false),
        RuleCase("weighted", "[{destination: {host: foo.baz.south}, weight: 25}, {destination: {host: foo.baz.east}, weight: 75}]", valid: true),
        RuleCase("weight < 0", "[{destination: {host: foo.baz.south}, weight: 5}, {destination: {host: foo.baz.east}, weight: -1}]", valid: false),
        RuleCase("total weight > 100", "[{destination: {host: foo.baz.south}, weight: 550}, {destination: {host: foo.baz.east}, weight: 500}]", valid: true),
        RuleCase("total weight < 100", "[{destination: {host: foo.baz.south}, weight: 49}, {destination: {host: foo.baz.east}, weight: 50}]", valid: true),
        RuleCase("total weight = 100", "[{destination: {host: foo.baz.south}, weight: 100}, {destination: {host: foo.baz.east}, weight: 0}]", valid: true),
        RuleCase("weight = 0", "[{destination: {host: foo.baz.south}, weight: 0}]", valid: true),
        RuleCase("total weight = 0 with multi RouteDestination", "[{destination: {host: foo.baz.south}, weight: 0}, {destination: {host: foo.baz.east}, weight: 0}]", valid: false),
    ])
    func routeDestinations(_ testCase: RuleCase) throws {
        let vs = try Fixture.virtualService(spec: "{hosts: [foo.bar], tcp: [{route: \(testCase.yaml)}]}")
        let routes = vs.spec.tcp?.first?.route
        expectVerdict(Fixture.findings { VirtualServiceRules.routeDestinations(routes, gatewaySemantics: false, at: ["tcp", 0, "route"], into: &$0) }, testCase)
    }

    @Test func weightMessageMatchesIstioAndPointsAtTheWeight() throws {
        let route = try Fixture.httpRoute("{route: [{destination: {host: a.b}, weight: 105}, {destination: {host: a.b}, weight: -5}]}")
        let findings = Fixture.findings { HTTPRouteRules.destinations(route.route, gatewaySemantics: false, at: ["http", 0, "route"], into: &$0) }
        #expect(findings.items.map(\.description) == ["error: http[0].route[1].weight: weight -5 < 0"])
    }

    // Ported from TestValidateDestination (all cases).
    @Test(arguments: [
        ("empty", Destination(), false), ("simple", Destination(host: "foo.bar"), true),
        ("full", Destination(host: "foo.bar", subset: "shiny", port: PortSelector(number: 5000)), true),
        ("unnumbered-selector", Destination(host: "foo.bar", subset: "shiny", port: PortSelector()), false),
        ("bad subset", Destination(host: "foo.bar", subset: "v1.0"), false), ("port too high", Destination(host: "a.b", port: PortSelector(number: 70000)), false),
    ])
    func destination(name: String, destination: Destination, valid: Bool) {
        let findings = Fixture.findings { CommonRules.destination(destination, at: ["d"], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(name): \(findings.items)")
    }

    // Ported from TestValidateHTTPRedirect (all cases).
    @Test(arguments: [
        ("nil redirect", nil, true),
        ("empty uri and authority", HTTPRedirect(uri: "", authority: ""), false),
        ("too small redirect code", HTTPRedirect(uri: "t", authority: "", redirectCode: 299), false),
        ("too large redirect code", HTTPRedirect(uri: "t", authority: "", redirectCode: 400), false),
        ("empty authority", HTTPRedirect(uri: "t", authority: ""), true),
        ("empty uri", HTTPRedirect(uri: "", authority: "t"), true),
        ("empty redirect code", HTTPRedirect(uri: "t", authority: "t", redirectCode: 0), true),
        ("normal redirect", HTTPRedirect(uri: "t", authority: "t", redirectCode: 308), true),
        ("prefix_rewrite alone", HTTPRedirect(prefixRewrite: "/bar"), true),
        ("prefix_rewrite with authority", HTTPRedirect(authority: "foo.example.com", prefixRewrite: "/"), true),
        ("uri and prefix_rewrite mutually exclusive", HTTPRedirect(uri: "/old", prefixRewrite: "/new"), false),
        ("scheme only", HTTPRedirect(scheme: "https"), true), ("bad scheme", HTTPRedirect(scheme: "ftp"), false),
        ("port only", HTTPRedirect(port: 8443), true), ("port out of range", HTTPRedirect(port: 70000), false),
        ("derived port only", HTTPRedirect(derivePort: .fromRequestPort), true),
        ("port and derived port", HTTPRedirect(port: 80, derivePort: .fromRequestPort), false),
    ] as [(String, HTTPRedirect?, Bool)])
    func redirect(name: String, redirect: HTTPRedirect?, valid: Bool) {
        let findings = Fixture.findings { HTTPRouteRules.redirect(redirect, matches: [], at: ["redirect"], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(name): \(findings.items)")
    }

    @Test func redirectReportsOnlyItsFirstProblemLikeIstio() {
        let findings = Fixture.findings { HTTPRouteRules.redirect(HTTPRedirect(uri: "/x", scheme: "ftp", redirectCode: 200), matches: [], at: ["redirect"], into: &$0) }
        #expect(findings.messages == ["200 is not a valid redirect code, must be 3xx"])
    }

    // Ported from TestValidateHTTPDirectResponse (all cases), with errors and warnings both checked.
    @Test(arguments: [
        ("status 200", HTTPDirectResponse(status: 200), true, false),
        ("status 100", HTTPDirectResponse(status: 199), false, false),
        ("status 600", HTTPDirectResponse(status: 601), false, false),
        ("with string body", HTTPDirectResponse(status: 200, body: HTTPBody(string: "hello")), true, false),
        ("with string body over 100kb", HTTPDirectResponse(status: 200, body: HTTPBody(string: String(repeating: "a", count: 101 * 1024))), true, true),
        ("with string body over 1mb", HTTPDirectResponse(status: 200, body: HTTPBody(string: String(repeating: "a", count: 2 * 1024 * 1024))), false, false),
        ("with bytes body", HTTPDirectResponse(status: 200, body: HTTPBody(bytes: Data("hello".utf8).base64EncodedString())), true, false),
        ("with bytes body over 100kb", HTTPDirectResponse(status: 200, body: HTTPBody(bytes: Data(repeating: 97, count: 100 * 1024 + 1).base64EncodedString())), true, true),
        ("with bytes body over 1mb", HTTPDirectResponse(status: 200, body: HTTPBody(bytes: Data(repeating: 97, count: 1024 * 1024 + 1).base64EncodedString())), false, false),
        ("bytes not base64", HTTPDirectResponse(status: 200, body: HTTPBody(bytes: "not base64!")), false, false),
        ("string and bytes", HTTPDirectResponse(status: 200, body: HTTPBody(string: "a", bytes: "YQ==")), false, false),
        ("no status", HTTPDirectResponse(), false, false),
    ])
    func directResponse(name: String, response: HTTPDirectResponse, valid: Bool, warning: Bool) {
        let findings = Fixture.findings { HTTPRouteRules.directResponse(response, at: ["directResponse"], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(name): \(findings.items)")
        #expect(findings.hasWarnings == warning, "\(name): \(findings.items)")
    }

    // Ported from TestValidateHTTPRetry (all cases).
    @Test(arguments: [
        ("valid", HTTPRetry(attempts: 10, perTryTimeout: .seconds(2), retryOn: "5xx,gateway-error"), true),
        ("disable retries", HTTPRetry(attempts: 0), true),
        ("invalid, retry policy configured but attempts set to zero", HTTPRetry(attempts: 0, perTryTimeout: .seconds(2), retryOn: "5xx,gateway-error"), false),
        ("valid default", HTTPRetry(attempts: 10), true),
        ("valid http status retryOn", HTTPRetry(attempts: 10, perTryTimeout: .seconds(2), retryOn: "503,connect-failure"), true),
        ("invalid attempts", HTTPRetry(attempts: -1, perTryTimeout: .seconds(2)), false),
        ("invalid timeout", HTTPRetry(attempts: 10, perTryTimeout: IstioDuration(nanoseconds: 2_000_000_001)), false),
        ("timeout too small", HTTPRetry(attempts: 10, perTryTimeout: IstioDuration(nanoseconds: 999)), false),
        ("invalid backoff", HTTPRetry(attempts: 10, backoff: IstioDuration(nanoseconds: 999)), false),
        ("invalid policy retryOn", HTTPRetry(attempts: 10, perTryTimeout: .seconds(2), retryOn: "5xx,invalid policy"), false),
        ("invalid http status retryOn", HTTPRetry(attempts: 10, perTryTimeout: .seconds(2), retryOn: "600,connect-failure"), false),
        ("invalid, retryRemoteLocalities configured but attempts set to zero", HTTPRetry(attempts: 0, retryRemoteLocalities: false), false),
        ("retryOn without attempts", HTTPRetry(retryOn: "5xx"), false),
        ("grpc conditions", HTTPRetry(attempts: 3, retryOn: "cancelled,deadline-exceeded,internal,resource-exhausted,unavailable"), true),
        ("unassigned status code", HTTPRetry(attempts: 3, retryOn: "509"), false),
    ])
    func retries(name: String, retry: HTTPRetry, valid: Bool) {
        let findings = Fixture.findings { HTTPRouteRules.retries(retry, at: ["retries"], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(name): \(findings.items)")
    }

    @Test func retryMessagesAreIstios() {
        let findings = Fixture.findings { HTTPRouteRules.retries(HTTPRetry(attempts: -1, retryOn: "5xx,bogus"), at: ["retries"], into: &$0) }
        #expect(findings.items.map(\.description) == [
            "error: retries.attempts: attempts cannot be negative",
            "error: retries.retryOn: \"bogus\" is not a valid retryOn policy",
        ])
    }

    // Ported from TestValidateHTTPRewrite and TestValidateUriRegexRewrite (all cases).
    @Test(arguments: [
        ("nil in", nil, true),
        ("uri and authority", HTTPRewrite(uri: "/path/to/resource", authority: "foobar.org"), true),
        ("uri", HTTPRewrite(uri: "/path/to/resource"), true),
        ("authority", HTTPRewrite(authority: "foobar.org"), true),
        ("uriRegexRewrite", HTTPRewrite(uriRegexRewrite: RegexRewrite(match: "^/service/([^/]+)(/.*)$", rewrite: "\\2/instance/\\1")), true),
        ("uriRegexRewrite and authority", HTTPRewrite(authority: "foobar.org", uriRegexRewrite: RegexRewrite(match: "^/service/([^/]+)(/.*)$", rewrite: "\\2/instance/\\1")), true),
        ("uriRegexRewrite and uri", HTTPRewrite(uri: "/path/to/resource", uriRegexRewrite: RegexRewrite(match: "^/service/([^/]+)(/.*)$", rewrite: "\\2/instance/\\1")), false),
        ("no uri, uriRegexRewrite, or authority", HTTPRewrite(), false),
        ("uriRegexRewrite missing match", HTTPRewrite(uriRegexRewrite: RegexRewrite(rewrite: "\\2/instance/\\1")), false),
        ("uriRegexRewrite missing rewrite", HTTPRewrite(uriRegexRewrite: RegexRewrite(match: "^/service/([^/]+)(/.*)$")), false),
        ("uriRegexRewrite invalid regex patterns", HTTPRewrite(uriRegexRewrite: RegexRewrite(match: "[", rewrite: "[")), false),
    ] as [(String, HTTPRewrite?, Bool)])
    func rewrite(name: String, rewrite: HTTPRewrite?, valid: Bool) {
        let findings = Fixture.findings { HTTPRouteRules.rewrite(rewrite, at: ["rewrite"], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(name): \(findings.items)")
    }

    // Ported from TestValidateHTTPFaultInjectionAbort (all cases).
    @Test(arguments: [
        ("valid", HTTPFaultInjection.Abort(httpStatus: 200, percentage: Percent(value: 20)), true),
        ("valid default", HTTPFaultInjection.Abort(httpStatus: 200), true),
        ("invalid http status", HTTPFaultInjection.Abort(httpStatus: 9000, percentage: Percent(value: 20)), false),
        ("invalid low http status", HTTPFaultInjection.Abort(httpStatus: 100, percentage: Percent(value: 20)), false),
        ("valid percentage", HTTPFaultInjection.Abort(httpStatus: 200, percentage: Percent(value: 0.001)), true),
        ("invalid fractional percent", HTTPFaultInjection.Abort(httpStatus: 200, percentage: Percent(value: -10)), false),
        ("grpc: valid", HTTPFaultInjection.Abort(grpcStatus: "DEADLINE_EXCEEDED", percentage: Percent(value: 20)), true),
        ("grpc: valid default percentage", HTTPFaultInjection.Abort(grpcStatus: "DEADLINE_EXCEEDED"), true),
        ("grpc: invalid status", HTTPFaultInjection.Abort(grpcStatus: "BAD_STATUS", percentage: Percent(value: 20)), false),
        ("grpc: valid percentage", HTTPFaultInjection.Abort(grpcStatus: "INTERNAL", percentage: Percent(value: 0.001)), true),
        ("grpc: invalid fractional percent", HTTPFaultInjection.Abort(grpcStatus: "DEADLINE_EXCEEDED", percentage: Percent(value: -10)), false),
        ("http2 error", HTTPFaultInjection.Abort(http2Error: "REFUSED_STREAM"), false),
        ("two error types", HTTPFaultInjection.Abort(httpStatus: 503, grpcStatus: "INTERNAL"), false),
        ("below the smallest fraction", HTTPFaultInjection.Abort(httpStatus: 503, percentage: Percent(value: 0.00001)), false),
    ])
    func faultAbort(name: String, abort: HTTPFaultInjection.Abort, valid: Bool) {
        let findings = Fixture.findings { FaultRules.abort(abort, at: ["fault", "abort"], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(name): \(findings.items)")
    }

    @Test func abortWithoutErrorTypeIsAWarning() {
        let findings = Fixture.findings { FaultRules.abort(HTTPFaultInjection.Abort(percentage: Percent(value: 5)), at: ["fault", "abort"], into: &$0) }
        #expect(findings.items.map(\.description) == ["warning: fault.abort: abort configured, but error type not set"])
    }

    // Ported from TestValidateHTTPFaultInjectionDelay (all cases).
    @Test(arguments: [
        ("valid fixed", HTTPFaultInjection.Delay(fixedDelay: .seconds(3), percentage: Percent(value: 20)), true),
        ("valid default", HTTPFaultInjection.Delay(fixedDelay: .seconds(3)), true),
        ("invalid percent", HTTPFaultInjection.Delay(fixedDelay: .seconds(3), percentage: Percent(value: 101)), false),
        ("invalid delay", HTTPFaultInjection.Delay(fixedDelay: IstioDuration(nanoseconds: 3_000_000_042), percentage: Percent(value: 20)), false),
        ("valid fractional percentage", HTTPFaultInjection.Delay(fixedDelay: .seconds(3), percentage: Percent(value: 0.001)), true),
        ("invalid fractional percentage", HTTPFaultInjection.Delay(fixedDelay: .seconds(3), percentage: Percent(value: -10)), false),
        ("exponential delay", HTTPFaultInjection.Delay(exponentialDelay: .seconds(3)), false),
    ])
    func faultDelay(name: String, delay: HTTPFaultInjection.Delay, valid: Bool) {
        let findings = Fixture.findings { FaultRules.delay(delay, at: ["fault", "delay"], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(name): \(findings.items)")
    }

    @Test func faultNeedsAbortOrDelay() {
        let findings = Fixture.findings { FaultRules.validate(HTTPFaultInjection(), at: ["fault"], into: &$0) }
        #expect(findings.messages == ["HTTP fault injection must have an abort and/or a delay"])
    }

    // Ported from TestValidateHTTPStatus (all cases).
    @Test(arguments: [(Int64(-100), false), (0, false), (200, true), (600, true), (601, false)])
    func httpStatus(status: Int64, valid: Bool) {
        #expect((FaultRules.httpStatus(status) == nil) == valid)
    }

    // Ported from TestValidateCORSPolicy (all cases).
    @Test(arguments: [
        ("valid", CorsPolicy(allowMethods: ["GET", "POST"], allowHeaders: ["header1", "header2"], exposeHeaders: ["header3"], maxAge: .seconds(2)), true),
        ("bad method", CorsPolicy(allowMethods: ["GET", "PUTT"], allowHeaders: ["header1", "header2"], exposeHeaders: ["header3"], maxAge: .seconds(2)), false),
        ("bad header", CorsPolicy(allowMethods: ["GET", "POST"], allowHeaders: ["header1", "header2"], exposeHeaders: [""], maxAge: .seconds(2)), false),
        ("bad max age", CorsPolicy(allowMethods: ["GET", "POST"], allowHeaders: ["header1", "header2"], exposeHeaders: ["header3"], maxAge: IstioDuration(nanoseconds: 2_000_000_042)), false),
        ("empty matchType AllowOrigins", CorsPolicy(allowOrigins: [StringMatch(exact: ""), StringMatch(prefix: ""), StringMatch(regex: "")], allowMethods: ["GET", "POST"]), false),
        ("non empty matchType AllowOrigins", CorsPolicy(allowOrigins: [StringMatch(exact: "exact"), StringMatch(prefix: "prefix"), StringMatch(regex: "regex")], allowMethods: ["GET", "POST"], maxAge: .seconds(2)), true),
        ("max age below a second", CorsPolicy(maxAge: IstioDuration(nanoseconds: 500_000_000)), false),
        ("wildcard header", CorsPolicy(allowHeaders: ["*"]), true),
        ("bad origin regex", CorsPolicy(allowOrigins: [StringMatch(regex: "(")]), false),
    ])
    func cors(name: String, policy: CorsPolicy, valid: Bool) {
        let findings = Fixture.findings { HTTPRouteRules.cors(policy, at: ["corsPolicy"], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(name): \(findings.items)")
    }

    @Test func stringMatchRulesNameTheFieldLikeIstio() throws {
        let route = try Fixture.httpRoute("{\(dest), match: [{uri: {regex: '(('}, method: {prefix: ''}, authority: {exact: a, prefix: b}}]}")
        let findings = Fixture.findings { HTTPRouteRules.matches(route, at: ["http", 0], into: &$0) }
        #expect(findings.items.count == 3)
        #expect(findings.items[0].path.description == "http[0].match[0].uri.regex")
        #expect(findings.items[0].message.hasPrefix("\"uri\": error parsing regexp: "))
        #expect(findings.items[0].message.hasSuffix("; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"))
        #expect(findings.items[1].description == "error: http[0].match[0].method.prefix: \"method\": prefix string match should not be empty")
        #expect(findings.items[2].description == "error: http[0].match[0].authority: only one of exact, prefix or regex may be set")
    }

    @Test func regexLengthLimitIs1024Bytes() {
        #expect(StringMatchRules.regexProblem(String(repeating: "a", count: 1024), where: "uri") == nil)
        #expect(StringMatchRules.regexProblem(String(repeating: "a", count: 1025), where: "uri") == "\"uri\": regex is too large, max length allowed is 1024")
    }

    // Istio compiles regexes with Go's regexp package, whose syntax differs from RE2's in a few
    // places: no `\C`, `(?<name>re)` accepted (Go 1.22+), and no 8 MiB program budget.
    @Test(arguments: [
        ("\\C", false), ("a\\Cb", false), ("[\\C]", false), ("\\Q\\C\\E", true), ("\\\\C", true), ("[\\]\\C]", false),
        ("(?<name>x)", true), ("(?P<name>x)", true), ("(?<name>x)(?<other>y)", true), ("(?<>x)", false), ("(?<a.b>x)", false),
        ("(?<=a)b", false), ("(?<!a)b", false), ("[(?<n>x)]", true), ("\\(?<n>x\\)", true),
        ("\\pL{1000}", true), ("[^a]{1000}[^a]{1000}[^a]{1000}", true), ("(?i)\\pL{1000}", true),
        ("a{1001}", false), ("a**", false), ("(?=a)", false), ("\\Z", false), ("(?P=n)", false),
        ("(?P<é>x)", false), ("(?<é>x)", false), ("(?P<a_1>x)", true), ("(?P<1a>x)", true), ("[(?P<é>)]", true),
    ])
    func regexSyntaxIsGos(regex: String, valid: Bool) throws {
        let route = try Fixture.httpRoute("{\(dest), match: [{uri: {regex: '\(regex)'}}]}")
        let findings = Fixture.findings { HTTPRouteRules.matches(route, at: ["http", 0], into: &$0) }
        #expect(findings.hasErrors == !valid, "\(regex): \(findings.items)")
    }

    /// What validation accepts, routing compiles: `(?<name>re)` is spelled `(?P<name>re)` for this
    /// RE2, outside classes and `\Q…\E`.
    @Test func namedGroupsInGoSyntaxCompileForRouting() throws {
        let regex = try RE2Regex("/(?<year>[0-9]{4})/[(?<]x\\Q(?<\\E")
        #expect(regex.fullMatch("/2024/<x(?<"))
        #expect(!regex.fullMatch("/24/<x(?<"))
        #expect(regex.pattern == "/(?<year>[0-9]{4})/[(?<]x\\Q(?<\\E")
        let scan = RE2Regex.goCompatible("(?<a>x)[(?<b>)]\\Q(?<c>\\E\\C(?P<é>y)")
        #expect(scan.re2Pattern == "(?P<a>x)[(?<b>)]\\Q(?<c>\\E\\C(?P<é>y)")
        #expect(scan.anyByteEscape)
        #expect(scan.badCaptureName == "(?P<é>")
    }

    @Test func regexMessagesAreGos() {
        #expect(StringMatchRules.regexProblem("a(b", where: "uri")
            == "\"uri\": error parsing regexp: missing closing ): `a(b`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)")
        #expect(StringMatchRules.regexProblem("x\\C", where: "uri")
            == "\"uri\": error parsing regexp: invalid escape sequence: `\\C`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)")
        #expect(StringMatchRules.regexProblem("a**", where: "headers")?.contains("invalid nested repetition operator: `**`") == true)
    }

    @Test func headerOperationRulesOnAuthorityAndHost() throws {
        let allowed = try Fixture.httpRoute("{\(dest), headers: {request: {set: {':authority': a.b}}}}")
        #expect(!Fixture.findings { HTTPRouteRules.validate(allowed, inDelegate: false, gatewaySemantics: false, at: ["http", 0], into: &$0) }.hasErrors)
        let pseudo = try Fixture.httpRoute("{\(dest), headers: {request: {set: {':path': /x}}, response: {add: {Host: x}}}}")
        #expect(Fixture.findings { HTTPRouteRules.validate(pseudo, inDelegate: false, gatewaySemantics: false, at: ["http", 0], into: &$0) }.items.map(\.description) == [
            "error: http[0].headers.request.set.:path: invalid header \":path\": header cannot have \":\" prefix",
            "error: http[0].headers.response.add.Host: invalid header \"Host\": cannot set Host header",
        ])
        let twice = try Fixture.httpRoute("{\(dest), rewrite: {authority: bar}, headers: {request: {set: {host: foo}}}}")
        #expect(Fixture.findings { HTTPRouteRules.authorityRewrite(twice, at: ["http", 0], into: &$0) }.messages
            == ["authority header cannot be set multiple times: have \"bar\", attempting to set \"foo\""])
    }

    @Test func deprecatedMirrorPercentWarns() throws {
        let route = try Fixture.httpRoute("{mirrorPercent: 5, mirror: {host: m.b}, \(dest)}")
        let findings = Fixture.findings { HTTPRouteRules.validate(route, inDelegate: false, gatewaySemantics: false, at: ["http", 0], into: &$0) }
        #expect(findings.items.map(\.description) == ["warning: http[0].mirrorPercent: using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead"])
    }

    @Test func matchPortLabelsNamespaceAndGateways() throws {
        let route = try Fixture.httpRoute("{\(dest), match: [{port: 70000, sourceLabels: {'a$': b}, sourceNamespace: Not_A_Label, gateways: ['ns/gw', 'ns/*']}]}")
        let findings = Fixture.findings { HTTPRouteRules.matches(route, at: ["http", 0], into: &$0) }
        #expect(findings.messages == [
            "port number 70000 must be in the range 1..65535",
            "invalid tag key: \"a$\"",
            "invalid value for gateway name: \"*\"",
            "sourceNamespace match Not_A_Label is invalid",
        ])
    }
}

extension IstioDuration {
    static func seconds(_ seconds: Int64) -> IstioDuration { IstioDuration(nanoseconds: seconds * 1_000_000_000) }
}
