import Testing

@testable import MeshConfig

private let toBaz = "http: [{route: [{destination: {host: foo.baz}}]}]"

// Ported from Istio pkg/config/validation/validation_test.go: TestValidateVirtualService (all
// cases; errors and warnings both checked, as Istio's checkValidation does).
let istioVirtualServiceCases: [RuleCase] = [
    RuleCase("simple", "{hosts: [foo.bar], \(toBaz)}", valid: true, warning: false),
    RuleCase("allow sni based domains", "{hosts: [outbound_.15010_._.istiod.istio-system.svc.cluster.local], gateways: [ns1/gateway], tls: [{match: [{sniHosts: [outbound_.15010_._.istiod.istio-system.svc.cluster.local]}], route: [{destination: {host: istio.istio-system.svc.cluster.local}}]}]}", valid: true, warning: false),
    RuleCase("duplicate hosts", "{hosts: ['*.foo.bar', '*.bar'], \(toBaz)}", valid: false, warning: false),
    RuleCase("with no destination", "{hosts: ['*.foo.bar', '*.bar'], http: [{route: [{}]}]}", valid: false, warning: false),
    RuleCase("destination with out hosts", "{hosts: ['*.foo.bar', '*.bar'], http: [{route: [{destination: {}}]}]}", valid: false, warning: false),
    RuleCase("delegate with no hosts", "{\(toBaz)}", valid: true, warning: false),
    RuleCase("bad host", "{hosts: [foo.ba!r], \(toBaz)}", valid: false, warning: false),
    RuleCase("no tcp or http routing", "{hosts: [foo.bar]}", valid: false, warning: false),
    RuleCase("bad gateway", "{hosts: [foo.bar], gateways: [b@dgateway], \(toBaz)}", valid: false, warning: false),
    RuleCase("FQDN for gateway", "{hosts: [foo.bar], gateways: [gateway.example.com], \(toBaz)}", valid: true, warning: true),
    RuleCase("namespace/name for gateway", "{hosts: [foo.bar], gateways: [ns1/gateway], \(toBaz)}", valid: true, warning: false),
    RuleCase("namespace/* for gateway", "{hosts: [foo.bar], gateways: ['ns1/*'], \(toBaz)}", valid: false, warning: false),
    RuleCase("*/name for gateway", "{hosts: [foo.bar], gateways: ['*/gateway'], \(toBaz)}", valid: false, warning: false),
    RuleCase("wildcard for mesh gateway", "{hosts: ['*'], \(toBaz)}", valid: false, warning: false),
    RuleCase("wildcard for non-mesh gateway", "{hosts: ['*'], gateways: [somegateway], \(toBaz)}", valid: true, warning: false),
    RuleCase("missing tcp route", "{hosts: [foo.bar], tcp: [{match: [{port: 999}]}]}", valid: false, warning: false),
    RuleCase("missing tls route", "{hosts: [foo.bar], tls: [{match: [{port: 999, sniHosts: [foo.bar]}]}]}", valid: false, warning: false),
    RuleCase("deprecated mirror", "{hosts: [foo.bar], gateways: [ns1/gateway], http: [{mirrorPercent: 5, route: [{destination: {host: foo.baz}}]}]}", valid: true, warning: true),
    RuleCase("set authority", "{hosts: [foo.bar], http: [{headers: {request: {set: {':authority': foo}}}, route: [{destination: {host: foo.baz}}]}]}", valid: true, warning: false),
    RuleCase("set authority in destination", "{hosts: [foo.bar], http: [{route: [{destination: {host: foo.baz}, headers: {request: {set: {':authority': foo}}}}]}]}", valid: true, warning: false),
    RuleCase("set authority in rewrite and header", "{hosts: [foo.bar], http: [{headers: {request: {set: {':authority': foo}}}, rewrite: {authority: bar}, route: [{destination: {host: foo.baz}}]}]}", valid: false, warning: false),
    RuleCase("non-method-get", "{hosts: [foo.bar], http: [{route: [{destination: {host: foo.baz}}], match: [{uri: {prefix: /api/v1/product}}, {uri: {prefix: /api/v1/products}, method: {exact: GET}}]}]}", valid: true, warning: true),
    RuleCase("uri-with-prefix-exact", "{hosts: [foo.bar], http: [{route: [{destination: {host: foo.baz}}], match: [{uri: {prefix: /}}, {uri: {exact: /}, method: {exact: GET}}]}]}", valid: true, warning: false),
    RuleCase("jwt claim route without gateway", "{hosts: [foo.bar], gateways: [mesh], http: [{route: [{destination: {host: foo.baz}}], match: [{uri: {prefix: /}, headers: {'@request.auth.claims.foo': {exact: bar}}}]}]}", valid: false, warning: false),
    RuleCase("ip address as sni host", "{hosts: [foo.bar], tls: [{route: [{destination: {host: foo.baz}}], match: [{port: 999, sniHosts: [1.1.1.1]}]}]}", valid: true, warning: true),
    RuleCase("invalid wildcard as sni host", "{hosts: [foo.bar], tls: [{route: [{destination: {host: foo.baz}}], match: [{port: 999, sniHosts: ['foo.*.com']}]}]}", valid: false, warning: false),
]

// Ported from Istio pkg/config/validation/virtualservice_test.go: TestValidateChainingVirtualService (all cases).
let istioChainingVirtualServiceCases: [RuleCase] = [
    RuleCase("root simple", "{hosts: [foo.bar], gateways: [test-gateway], http: [{delegate: {name: test, namespace: test}}]}", valid: true),
    RuleCase("root applies to sidecar with delegate", "{hosts: [foo.bar], http: [{delegate: {name: test, namespace: test}}]}", valid: true),
    RuleCase("root with delegate and destination in one route", "{hosts: [foo.bar], http: [{delegate: {name: test, namespace: test}, route: [{destination: {host: foo.baz}}]}]}", valid: false),
    RuleCase("delegate with no destination", "{hosts: [], http: [{}]}", valid: false),
    RuleCase("delegate with delegate", "{hosts: [], http: [{delegate: {name: test, namespace: test}}]}", valid: false),
    RuleCase("delegate with TCP route", "{hosts: [], tcp: [{route: [{destination: {host: foo.baz}}]}]}", valid: false),
    RuleCase("delegate with gateway", "{hosts: [], gateways: [test], \(toBaz)}", valid: false),
    RuleCase("delegate with sourceNamespace", "{hosts: [], http: [{match: [{sourceNamespace: test}], route: [{destination: {host: foo.baz}}]}]}", valid: true),
]

@Suite struct ValidationVirtualServiceTests {
    @Test(arguments: istioVirtualServiceCases)
    func virtualService(_ testCase: RuleCase) throws {
        let vs = try Fixture.virtualService(spec: testCase.yaml)
        expectVerdict(Validator().validate(vs), testCase)
    }

    @Test(arguments: istioChainingVirtualServiceCases)
    func chainingVirtualService(_ testCase: RuleCase) throws {
        let vs = try Fixture.virtualService(spec: testCase.yaml)
        expectVerdict(Validator().validate(vs), testCase)
    }

    @Test func hostMessagesAreIstios() throws {
        let vs = try Fixture.virtualService(spec: "{hosts: ['*.foo.bar', '*.bar', 'foo.ba!r'], \(toBaz)}")
        // Istio names the part after the first label as the domain here.
        #expect(Validator().validate(vs).map(\.message) == ["domain name \"ba!r\" invalid (label \"ba!r\" invalid)"])
        let dup = try Fixture.virtualService(spec: "{hosts: ['*.foo.bar', '*.bar', reviews, reviews], \(toBaz)}")
        #expect(Validator().validate(dup).map { "\($0.field?.description ?? ""): \($0.message)" } == [
            "hosts[1]: duplicate hosts in virtual service: *.foo.bar & *.bar",
            "hosts[3]: duplicate hosts in virtual service: reviews & reviews",
        ])
        let mesh = try Fixture.virtualService(spec: "{hosts: ['*'], \(toBaz)}")
        #expect(Validator().validate(mesh).map(\.message) == ["wildcard host * is not allowed for virtual services bound to the mesh gateway"])
    }

    @Test func ipAddressHostsAreAllowed() throws {
        let vs = try Fixture.virtualService(spec: "{hosts: [10.0.0.1, '2001:db8::1'], \(toBaz)}")
        #expect(Validator().validate(vs).isEmpty)
    }

    @Test func delegateRestrictionsNameTheField() throws {
        let vs = try Fixture.virtualService(spec: "{gateways: [ns/gw], tls: [{match: [{sniHosts: [a.b]}], route: [{destination: {host: a.b}}]}], tcp: [{route: [{destination: {host: a.b}}]}]}")
        let messages = Validator().validate(vs).map { "\($0.field?.description ?? ""): \($0.message)" }
        #expect(messages.contains("gateways: delegate virtual service must have no gateways specified"))
        #expect(messages.contains("tls: delegate virtual service must have no tls route specified"))
        #expect(messages.contains("tcp: delegate virtual service must have no tcp route specified"))
    }

    @Test func jwtClaimRoutingOnlyOnGateways() throws {
        let sidecar = try Fixture.virtualService(spec: "{hosts: [foo.bar], http: [{match: [{headers: {'@request.auth.claims.group': {exact: a}}}], route: [{destination: {host: foo.baz}}]}]}")
        #expect(Validator().validate(sidecar).map(\.message) == ["JWT claim based routing (key: @request.auth.claims.group) is only supported for gateway, found no gateways: []"])
        let gateway = try Fixture.virtualService(spec: "{hosts: [foo.bar], gateways: [istio-system/ingress], http: [{match: [{headers: {'@request.auth.claims.group': {exact: a}}}], route: [{destination: {host: foo.baz}}]}]}")
        #expect(Validator().validate(gateway).isEmpty)
    }

    @Test func sniHostMustFallUnderAVirtualServiceHost() throws {
        let vs = try Fixture.virtualService(spec: "{hosts: ['*.example.com'], tls: [{match: [{sniHosts: [a.example.com, other.org]}], route: [{destination: {host: a.b}}]}]}")
        let diagnostics = Validator().validate(vs)
        #expect(diagnostics.map { "\($0.field?.description ?? ""): \($0.message)" } == [
            "tls[0].match[0].sniHosts[1]: SNI host \"other.org\" is not a compatible subset of any of the virtual service hosts: [*.example.com]"
        ])
    }

    @Test func tcpAndTlsMatchFields() throws {
        let vs = try Fixture.virtualService(spec: "{hosts: [a.b], tcp: [{match: [{destinationSubnets: [10.0.0.0/33], port: 0, sourceLabels: {app: 'x$'}}], route: [{destination: {host: a.b}}]}]}")
        #expect(Validator().validate(vs).map(\.message) == ["10.0.0.0/33 is not a valid CIDR block", "invalid tag value: \"x$\""])
    }

    @Test func unreachableRulesAreWarnings() throws {
        let vs = try Fixture.virtualService(spec: """
            {hosts: [a.b], http: [
              {name: first, match: [{uri: {exact: /a}}], route: [{destination: {host: a.b}}]},
              {name: again, match: [{name: same, uri: {exact: /a}}], route: [{destination: {host: a.b}}]},
              {route: [{destination: {host: a.b}}]},
              {match: [{uri: {exact: /b}}], route: [{destination: {host: a.b}}]},
              {route: [{destination: {host: a.b}}]}]}
            """)
        let diagnostics = Validator().validate(vs)
        #expect(diagnostics.allSatisfy { $0.severity == .warning })
        #expect(diagnostics.map { "\($0.field?.description ?? ""): \($0.message)" } == [
            "http[1].match[0]: virtualService rule \"again\" match \"same\" is not used (duplicate/overlapping match in rule \"first\")",
            "http[1]: virtualService rule \"again\" not used (all matches used by prior rules)",
            "http[3]: virtualService rule #3 not used (route without matches defined before)",
            "http[4]: virtualService rule #4 not used (only the last rule can have no matches)",
        ])
    }

    @Test func shadowedPrefixMatchIsAWarning() throws {
        let vs = try Fixture.virtualService(spec: """
            {hosts: [a.b], http: [
              {name: api, match: [{uri: {prefix: /api}}], route: [{destination: {host: a.b}}]},
              {name: v1, match: [{uri: {prefix: /api/v1}}, {uri: {prefix: /api/v1}, method: {exact: POST}}], route: [{destination: {host: a.b}}]}]}
            """)
        #expect(Validator().validate(vs).map(\.message) == [
            "virtualService rule \"v1\" match #0 of prefix /api/v1 is not used (duplicate/overlapping match in rule #0 of prefix /api on \"api\")"
        ])
    }

    @Test func duplicateTcpMatchesAreWarnings() throws {
        let vs = try Fixture.virtualService(spec: "{hosts: [a.b], tcp: [{match: [{port: 9000}], route: [{destination: {host: a.b}}]}, {match: [{port: 9000}], route: [{destination: {host: a.b}}]}]}")
        #expect(Validator().validate(vs).map(\.message) == [
            "virtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0)",
            "virtualService rule #1 not used (all matches used by prior rules)",
        ])
    }

    @Test func gatewaySemanticsSkipsDestinationChecks() throws {
        let spec = "{hosts: [a.b], gateways: [ns/My_Gateway], http: [{route: [{destination: {host: 'bad_host'}}]}]}"
        let plain = try Fixture.virtualService(spec: spec)
        #expect(Validator().validate(plain).map(\.message).count == 2)
        let gatewayAPI = try Fixture.virtualService(spec: spec, annotations: "{internal.istio.io/route-semantics: gateway}")
        #expect(Validator().validate(gatewayAPI).isEmpty)
    }

    @Test func legacyGatewayNameWarningRecommendsNamespaceSlashName() throws {
        let vs = try Fixture.virtualService(spec: "{hosts: [a.b], gateways: [gw.istio-system], \(toBaz)}")
        #expect(Validator().validate(vs).map(\.message) == ["using legacy gatewayName format \"gw.istio-system\"; prefer the <namespace>/<name> format: \"istio-system/gw\""])
    }

    // Which findings keep their warnings inside a whole VirtualService. Istio (validation.go,
    // virtualservice.go) merges the HTTP match, the fault and the TCP route through its error-only
    // path (AppendErrors), and the top-level gateways, the TLS match and the direct response through
    // the path that keeps warnings (AppendValidation).
    @Test(arguments: [
        RuleCase("legacy gateway name in an HTTP match: no warning", "{hosts: [r], gateways: [mesh, ns/gw], http: [{match: [{gateways: [gw.ns]}], route: [{destination: {host: r}}]}]}", valid: true, warning: false),
        RuleCase("abort without an error type: no warning", "{hosts: [r], http: [{fault: {abort: {percentage: {value: 5}}}, route: [{destination: {host: r}}]}]}", valid: true, warning: false),
        RuleCase("legacy gateway name in a TCP match: no warning", "{hosts: [r], tcp: [{match: [{gateways: [gw.ns]}], route: [{destination: {host: r}}]}]}", valid: true, warning: false),
        RuleCase("legacy gateway name in a TLS match: warning", "{hosts: [r.example.com], tls: [{match: [{gateways: [gw.ns], sniHosts: [r.example.com]}], route: [{destination: {host: r}}]}]}", valid: true, warning: true),
        RuleCase("legacy gateway name in gateways: warning", "{hosts: [r], gateways: [gw.ns], http: [{route: [{destination: {host: r}}]}]}", valid: true, warning: true),
        RuleCase("large direct response body: warning", "{hosts: [r], http: [{directResponse: {status: 200, body: {string: \(String(repeating: "a", count: 101 * 1024))}}}]}", valid: true, warning: true),
        RuleCase("bad gateway name in an HTTP match is still an error", "{hosts: [r], http: [{match: [{gateways: ['ns/Bad_Name']}], route: [{destination: {host: r}}]}]}", valid: false),
        RuleCase("bad gateway name in a TCP match is still an error", "{hosts: [r], tcp: [{match: [{gateways: ['ns/Bad_Name']}], route: [{destination: {host: r}}]}]}", valid: false),
        RuleCase("bad abort status is still an error", "{hosts: [r], http: [{fault: {abort: {httpStatus: 700}}, route: [{destination: {host: r}}]}]}", valid: false),
    ])
    func warningsThatReachTheResource(_ testCase: RuleCase) throws {
        expectVerdict(Validator().validate(try Fixture.virtualService(spec: testCase.yaml)), testCase)
    }
}
