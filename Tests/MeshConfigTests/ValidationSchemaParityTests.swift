import Testing

@testable import MeshConfig

// Verdicts Istio reaches outside its Go validation code, so its Go unit tests cannot show them:
// - "CRD": the CRD schema in istio/api kubernetes/customresourcedefinitions.gen.yaml (CEL
//   `x-kubernetes-validations`, `minimum`/`maximum`, `maxProperties`), which the API server applies
//   before Istio's webhook sees the resource (pkg/config/validation/openapi_test.go runs it);
// - "protobuf": Istio reads the resource into protobuf before validating it, and there an empty
//   list is an unset field, so `[]` is judged like an absent field.

/// `count` distinct `kN: vN` pairs as a flow mapping.
private func flowMap(_ count: Int, value: (Int) -> String = { "v\($0)" }) -> String {
    "{" + (0..<count).map { "k\($0): \(value($0))" }.joined(separator: ", ") + "}"
}

private let name62 = String(repeating: "a", count: 62)
private let name63 = String(repeating: "a", count: 63)

@Suite struct ValidationSchemaParityTests {
    @Test(arguments: [
        RuleCase("CRD: outlierDetectionHttpErrorCodes minimum is 100", "{host: reviews, trafficPolicy: {outlierDetection: {outlierDetectionHttpErrorCodes: [99]}}}", valid: false),
        RuleCase("CRD: outlierDetectionHttpErrorCodes maximum is 599", "{host: reviews, trafficPolicy: {outlierDetection: {outlierDetectionHttpErrorCodes: [503, 600]}}}", valid: false),
        RuleCase("CRD: outlierDetectionHttpErrorCodes within 100..599", "{host: reviews, trafficPolicy: {outlierDetection: {outlierDetectionHttpErrorCodes: [100, 503, 599]}}}", valid: true),
        RuleCase("CRD: outlierDetectionHttpErrorCodes in a subset's port-level policy", "{host: reviews, subsets: [{name: v1, labels: {version: v1}, trafficPolicy: {portLevelSettings: [{port: {number: 80}, outlierDetection: {outlierDetectionHttpErrorCodes: [42]}}]}}]}", valid: false),
        RuleCase("protobuf: an empty portLevelSettings leaves the traffic policy empty", "{host: reviews, trafficPolicy: {portLevelSettings: []}}", valid: false),
        RuleCase("protobuf: empty subjectAltNames with insecureSkipVerify, SIMPLE", "{host: reviews, trafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true, subjectAltNames: []}}}", valid: true),
        RuleCase("protobuf: empty subjectAltNames with insecureSkipVerify, MUTUAL", "{host: reviews, trafficPolicy: {tls: {mode: MUTUAL, clientCertificate: cert, privateKey: key, insecureSkipVerify: true, subjectAltNames: []}}}", valid: true),
        RuleCase("subjectAltNames with insecureSkipVerify (Istio's InsecureSkipVerify ... san is specified)", "{host: reviews, trafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true, subjectAltNames: [reviews.default.svc]}}}", valid: false),
        RuleCase("CRD: workloadSelector matchLabels has at most 4096 entries", "{host: reviews, workloadSelector: {matchLabels: \(flowMap(4097))}}", valid: false),
        RuleCase("CRD: workloadSelector matchLabels of 4096 entries", "{host: reviews, workloadSelector: {matchLabels: \(flowMap(4096))}}", valid: true),
    ])
    func destinationRule(_ testCase: RuleCase) throws {
        expectVerdict(Validator().validate(try Fixture.destinationRule(spec: testCase.yaml)), testCase)
    }

    @Test(arguments: [
        RuleCase("CRD: a targetPort of 0 is outside 1-65535", "{hosts: [example.com], ports: [{name: http, number: 80, protocol: HTTP, targetPort: 0}], resolution: DNS}", valid: false),
        RuleCase("no targetPort", "{hosts: [example.com], ports: [{name: http, number: 80, protocol: HTTP}], resolution: DNS}", valid: true),
        // Istio's "partial wildcard hosts" case gives NONE an empty endpoint list and expects it valid.
        RuleCase("NONE mode with an empty endpoints list", "{hosts: [example.com], addresses: [10.0.0.1], ports: [{name: http, number: 80, protocol: HTTP}], endpoints: []}", valid: true),
        RuleCase("CRD: NONE mode cannot set endpoints", "{hosts: [example.com], addresses: [10.0.0.1], ports: [{name: http, number: 80, protocol: HTTP}], endpoints: [{address: 1.1.1.1}]}", valid: false),
        RuleCase("CRD: an endpoint port name of 63 characters", "{hosts: [example.com], addresses: [10.0.0.1], ports: [{name: \(name63), number: 80, protocol: HTTP}], endpoints: [{address: 1.1.1.1, ports: {\(name63): 8080}}], resolution: STATIC}", valid: false),
        RuleCase("an endpoint port name of 62 characters", "{hosts: [example.com], addresses: [10.0.0.1], ports: [{name: \(name62), number: 80, protocol: HTTP}], endpoints: [{address: 1.1.1.1, ports: {\(name62): 8080}}], resolution: STATIC}", valid: true),
        RuleCase("CRD: a DNS endpoint port name of 63 characters", "{hosts: [example.com], ports: [{name: \(name63), number: 80, protocol: HTTP}], endpoints: [{address: api.example.com, ports: {\(name63): 8080}}], resolution: DNS}", valid: false),
        RuleCase("CRD: workloadSelector labels has at most 256 entries", "{hosts: [example.com], ports: [{name: http, number: 80, protocol: HTTP}], resolution: STATIC, workloadSelector: {labels: \(flowMap(257))}}", valid: false),
        RuleCase("CRD: an endpoint has at most 128 ports", "{hosts: [example.com], addresses: [10.0.0.1], ports: [{name: http, number: 80, protocol: HTTP}], endpoints: [{address: 1.1.1.1, ports: \(flowMap(129) { "\(1000 + $0)" })}], resolution: STATIC}", valid: false),
    ])
    func serviceEntry(_ testCase: RuleCase) throws {
        expectVerdict(Validator().validate(try Fixture.serviceEntry(spec: testCase.yaml)), testCase)
    }

    @Test(arguments: [
        RuleCase("CRD: UDS may not include ports, even an empty map", "{address: 'unix:///var/run/app.sock', ports: {}}", valid: false),
        RuleCase("a unix address without ports (Istio's valid unix endpoint)", "{address: 'unix:///var/run/app.sock'}", valid: true),
        RuleCase("CRD: a port name of 63 characters", "{address: 1.2.3.4, ports: {\(name63): 80}}", valid: false),
        RuleCase("a port name of 62 characters", "{address: 1.2.3.4, ports: {\(name62): 80}}", valid: true),
        RuleCase("CRD: at most 256 labels", "{address: 1.2.3.4, labels: \(flowMap(257))}", valid: false),
        RuleCase("256 labels", "{address: 1.2.3.4, labels: \(flowMap(256))}", valid: true),
        RuleCase("CRD: at most 128 ports", "{address: 1.2.3.4, ports: \(flowMap(129) { "\(1000 + $0)" })}", valid: false),
    ])
    func workloadEntry(_ testCase: RuleCase) throws {
        expectVerdict(Validator().validate(try Fixture.workloadEntry(spec: testCase.yaml)), testCase)
    }

    @Test(arguments: [
        RuleCase("protobuf: a root route with an empty route list", "{hosts: [reviews], http: [{delegate: {name: d, namespace: default}, route: []}]}", valid: true),
        RuleCase("a root route with a route (Istio's root route with route)", "{hosts: [reviews], http: [{delegate: {name: d, namespace: default}, route: [{destination: {host: reviews}}]}]}", valid: false),
    ])
    func virtualService(_ testCase: RuleCase) throws {
        expectVerdict(Validator().validate(try Fixture.virtualService(spec: testCase.yaml)), testCase)
    }

    /// A schema-only finding still names the file, the line and the field.
    @Test func schemaFindingsNameFileLineAndField() throws {
        let resources = try Fixture.load("""
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: api}
            spec:
              hosts: [api.example.com]
              ports:
              - name: http
                number: 80
                protocol: HTTP
                targetPort: 0
              resolution: DNS
            """)
        let diagnostics = Validator().validate(resources)
        #expect(diagnostics.map(\.description) == [
            "test.yaml:10: error: ServiceEntry default/api: ports[0].targetPort: port number 0 must be in the range 1..65535"
        ])
    }

    // Istio's "discovery type DYNAMIC_DNS, nil port", "nil port in ports array" and "discovery type
    // DNS with addresses, nil port" (all invalid): in YAML a null port, which does not even load.
    @Test(arguments: [
        "{hosts: ['*.example.com'], ports: [null], resolution: DYNAMIC_DNS}",
        "{hosts: [example.com], ports: [{name: http, number: 80, protocol: HTTP}, null]}",
        "{hosts: [example.com], addresses: [10.0.0.1], ports: [null], resolution: DNS}",
    ])
    func nullPortIsALoadError(spec: String) {
        let result = ConfigLoader().load(text: "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se}\nspec: \(spec)\n", file: "se.yaml")
        #expect(result.errors.map(\.line) == [4], "\(result.diagnostics.map(\.description))")
        #expect(result.errors.first?.field?.description.hasPrefix("ports[") == true, "\(result.diagnostics.map(\.description))")
    }

    /// Istio's "match with nil element" (valid): its JSON reader turns a null match into an empty
    /// one. Its "null header match" (invalid) stays an error: here a load error at the header.
    @Test func nullMatchIsAnEmptyMatchButANullHeaderMatchIsRefused() throws {
        let vs = try Fixture.virtualService(spec: "{hosts: [reviews], http: [{match: [null], route: [{destination: {host: reviews}}]}]}")
        #expect(vs.spec.http?.first?.match == [HTTPMatchRequest()])
        #expect(Validator().validate(vs).isEmpty)

        let result = ConfigLoader().load(text: "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec: {hosts: [r], http: [{match: [{headers: {header: null}}], route: [{destination: {host: r}}]}]}\n", file: "vs.yaml")
        #expect(result.errors.map { $0.field?.description } == ["http[0].match[0].headers.header"], "\(result.diagnostics.map(\.description))")
    }
}
