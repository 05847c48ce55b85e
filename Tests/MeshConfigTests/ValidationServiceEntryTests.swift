import Testing

@testable import MeshConfig

private let twoHTTPPorts = "ports: [{number: 80, protocol: http, name: http-valid1}, {number: 8080, protocol: http, name: http-valid2}]"
private let oneHTTPPort = "ports: [{number: 80, protocol: http, name: http-valid1}]"

/// A ServiceEntry case: its spec, plus the resource's labels where Istio's case sets them.
struct ServiceEntryCase: Sendable, CustomTestStringConvertible {
    var rule: RuleCase
    var labels: String

    init(_ name: String, _ yaml: String, valid: Bool, warning: Bool, labels: String = "{}") {
        rule = RuleCase(name, yaml, valid: valid, warning: warning)
        self.labels = labels
    }

    var testDescription: String { rule.name }
}

// Ported from Istio pkg/config/validation/validation_test.go: TestValidateServiceEntries (all
// cases but the three with a nil port, which meshsim's decoder rejects when loading).
let istioServiceEntryCases: [ServiceEntryCase] = [
    ServiceEntryCase("discovery type DNS", "{hosts: ['*.google.com'], \(twoHTTPPorts), endpoints: [{address: lon.google.com, ports: {http-valid1: 8080}}, {address: in.google.com, ports: {http-valid2: 9080}}], resolution: DNS}", valid: true, warning: false),
    ServiceEntryCase("discovery type DNS Round Robin", "{hosts: ['*.istio.io'], \(twoHTTPPorts), endpoints: [{address: api-v1.istio.io, ports: {http-valid1: 8080}}], resolution: DNS_ROUND_ROBIN}", valid: true, warning: false),
    ServiceEntryCase("discovery type DNS, label tlsMode: istio", "{hosts: ['*.google.com'], \(twoHTTPPorts), endpoints: [{address: lon.google.com, ports: {http-valid1: 8080}, labels: {security.istio.io/tlsMode: istio}}, {address: in.google.com, ports: {http-valid2: 9080}, labels: {security.istio.io/tlsMode: istio}}], resolution: DNS}", valid: true, warning: false),
    ServiceEntryCase("discovery type DNS, one host set with IP address and https port", "{hosts: [httpbin.org], addresses: [10.10.10.10], ports: [{number: 80, protocol: http, name: http-valid1}, {number: 8080, protocol: http, name: http-valid2}, {number: 443, protocol: https, name: https}], resolution: DNS}", valid: true, warning: false),
    ServiceEntryCase("discovery type DNS, multi hosts set with IP address and https port", "{hosts: [httpbin.org, wikipedia.org], addresses: [10.10.10.10], ports: [{number: 80, protocol: http, name: http-valid1}, {number: 8080, protocol: http, name: http-valid2}, {number: 443, protocol: https, name: https}], resolution: DNS}", valid: true, warning: true),
    ServiceEntryCase("discovery type DNS, IP address set", "{hosts: ['*.google.com'], addresses: [10.10.10.10], \(twoHTTPPorts), endpoints: [{address: lon.google.com, ports: {http-valid1: 8080}}, {address: in.google.com, ports: {http-valid2: 9080}}], resolution: DNS}", valid: true, warning: false),
    ServiceEntryCase("discovery type DNS, IP in endpoints", "{hosts: ['*.google.com'], \(twoHTTPPorts), endpoints: [{address: 1.1.1.1, ports: {http-valid1: 8080}}, {address: in.google.com, ports: {http-valid2: 9080}}], resolution: DNS}", valid: true, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS", "{hosts: ['*.google.com'], \(twoHTTPPorts), resolution: DYNAMIC_DNS}", valid: true, warning: false),
    ServiceEntryCase("empty hosts", "{\(oneHTTPPort), endpoints: [{address: in.google.com, ports: {http-valid2: 9080}}], resolution: DNS}", valid: false, warning: false),
    ServiceEntryCase("bad hosts", "{hosts: ['-'], \(oneHTTPPort), endpoints: [{address: in.google.com, ports: {http-valid2: 9080}}], resolution: DNS}", valid: false, warning: false),
    ServiceEntryCase("full wildcard host", "{hosts: [foo.com, '*'], \(oneHTTPPort), endpoints: [{address: in.google.com, ports: {http-valid2: 9080}}], resolution: DNS}", valid: false, warning: false),
    ServiceEntryCase("short name host", "{hosts: [foo, bar.com], \(oneHTTPPort), endpoints: [{address: in.google.com, ports: {http-valid1: 9080}}], resolution: DNS}", valid: true, warning: false),
    ServiceEntryCase("undefined endpoint port", "{hosts: [google.com], ports: [{number: 80, protocol: http, name: http-valid1}, {number: 80, protocol: http, name: http-valid2}], endpoints: [{address: lon.google.com, ports: {http-valid1: 8080}}, {address: in.google.com, ports: {http-dne: 9080}}], resolution: DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type DNS, non-FQDN endpoint", "{hosts: ['*.google.com'], \(twoHTTPPorts), endpoints: [{address: '*.lon.google.com', ports: {http-valid1: 8080}}, {address: in.google.com, ports: {http-dne: 9080}}], resolution: DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type DNS, non-FQDN host", "{hosts: ['*.google.com'], \(twoHTTPPorts), resolution: DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type DNS, no endpoints", "{hosts: [google.com], \(twoHTTPPorts), resolution: DNS}", valid: true, warning: false),
    ServiceEntryCase("discovery type DNS, unix endpoint", "{hosts: ['*.google.com'], \(oneHTTPPort), endpoints: [{address: 'unix:///lon/google/com'}], resolution: DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type none", "{hosts: [google.com], \(twoHTTPPorts), resolution: NONE}", valid: true, warning: false),
    ServiceEntryCase("discovery type none, endpoints provided", "{hosts: [google.com], \(twoHTTPPorts), endpoints: [{address: lon.google.com, ports: {http-valid1: 8080}}], resolution: NONE}", valid: false, warning: false),
    ServiceEntryCase("discovery type none, cidr addresses", "{hosts: [google.com], addresses: [172.1.2.16/16], \(twoHTTPPorts), resolution: NONE}", valid: true, warning: false),
    ServiceEntryCase("discovery type static, cidr addresses with endpoints", "{hosts: [google.com], addresses: [172.1.2.16/16], \(twoHTTPPorts), endpoints: [{address: 1.1.1.1, ports: {http-valid1: 8080}}, {address: 2.2.2.2, ports: {http-valid2: 9080}}], resolution: STATIC}", valid: true, warning: false),
    ServiceEntryCase("discovery type static", "{hosts: [google.com], addresses: [172.1.2.16], \(twoHTTPPorts), endpoints: [{address: 1.1.1.1, ports: {http-valid1: 8080}}, {address: 2.2.2.2, ports: {http-valid2: 9080}}], resolution: STATIC}", valid: true, warning: false),
    ServiceEntryCase("discovery type static, FQDN in endpoints", "{hosts: [google.com], addresses: [172.1.2.16], \(twoHTTPPorts), endpoints: [{address: google.com, ports: {http-valid1: 8080}}, {address: 2.2.2.2, ports: {http-valid2: 9080}}], resolution: STATIC}", valid: false, warning: false),
    ServiceEntryCase("discovery type static, missing endpoints", "{hosts: [google.com], addresses: [172.1.2.16], \(twoHTTPPorts), resolution: STATIC}", valid: true, warning: false),
    ServiceEntryCase("discovery type static, bad endpoint port name", "{hosts: [google.com], addresses: [172.1.2.16], \(twoHTTPPorts), endpoints: [{address: 1.1.1.1, ports: {http-valid1: 8080}}, {address: 2.2.2.2, ports: {http-dne: 9080}}], resolution: STATIC}", valid: false, warning: false),
    ServiceEntryCase("discovery type none, conflicting port names", "{hosts: [google.com], ports: [{number: 80, protocol: http, name: http-conflict}, {number: 8080, protocol: http, name: http-conflict}], resolution: NONE}", valid: false, warning: false),
    ServiceEntryCase("discovery type none, conflicting port numbers", "{hosts: [google.com], ports: [{number: 80, protocol: http, name: http-conflict1}, {number: 80, protocol: http, name: http-conflict2}], resolution: NONE}", valid: false, warning: false),
    ServiceEntryCase("unix socket", "{hosts: [uds.cluster.local], ports: [{number: 6553, protocol: grpc, name: grpc-service1}], resolution: STATIC, endpoints: [{address: 'unix:///path/to/socket'}]}", valid: true, warning: false),
    ServiceEntryCase("unix socket, relative path", "{hosts: [uds.cluster.local], ports: [{number: 6553, protocol: grpc, name: grpc-service1}], resolution: STATIC, endpoints: [{address: 'unix://./relative/path.sock'}]}", valid: false, warning: false),
    ServiceEntryCase("unix socket, endpoint ports", "{hosts: [uds.cluster.local], ports: [{number: 6553, protocol: grpc, name: grpc-service1}], resolution: STATIC, endpoints: [{address: 'unix:///path/to/socket', ports: {grpc-service1: 6553}}]}", valid: false, warning: false),
    ServiceEntryCase("unix socket, multiple service ports", "{hosts: [uds.cluster.local], ports: [{number: 6553, protocol: grpc, name: grpc-service1}, {number: 80, protocol: http, name: http-service2}], resolution: STATIC, endpoints: [{address: 'unix:///path/to/socket'}]}", valid: false, warning: false),
    ServiceEntryCase("empty protocol", "{hosts: [google.com], addresses: [172.1.2.16/16], ports: [{number: 80, protocol: http, name: http-valid1}, {number: 8080, name: http-valid2}], resolution: NONE}", valid: true, warning: false),
    ServiceEntryCase("selector", "{hosts: [google.com], workloadSelector: {labels: {foo: bar}}, \(oneHTTPPort)}", valid: true, warning: true),
    ServiceEntryCase("workload selector without labels", "{hosts: [google.com], \(twoHTTPPorts), workloadSelector: {}}", valid: true, warning: true),
    ServiceEntryCase("selector and endpoints", "{hosts: [google.com], workloadSelector: {labels: {foo: bar}}, \(oneHTTPPort), endpoints: [{address: 1.1.1.1}]}", valid: false, warning: true),
    ServiceEntryCase("selector and resolution NONE", "{hosts: [google.com], workloadSelector: {labels: {foo: bar}}, \(oneHTTPPort), resolution: NONE}", valid: true, warning: true),
    ServiceEntryCase("selector and resolution DNS", "{hosts: [google.com], workloadSelector: {labels: {foo: bar}}, \(oneHTTPPort), resolution: DNS}", valid: true, warning: false),
    ServiceEntryCase("bad selector key", "{hosts: [google.com], workloadSelector: {labels: {'': bar}}, \(oneHTTPPort)}", valid: false, warning: false),
    ServiceEntryCase("repeat target port", "{hosts: [google.com], resolution: DNS, ports: [{number: 80, protocol: http, name: http-valid1, targetPort: 80}, {number: 81, protocol: http, name: http-valid2, targetPort: 80}]}", valid: true, warning: false),
    ServiceEntryCase("valid target port", "{hosts: [google.com], resolution: DNS, ports: [{number: 80, protocol: http, name: http-valid1, targetPort: 81}]}", valid: true, warning: false),
    ServiceEntryCase("invalid target port", "{hosts: [google.com], resolution: DNS, ports: [{number: 80, protocol: http, name: http-valid1, targetPort: 65536}]}", valid: false, warning: false),
    ServiceEntryCase("warn target port", "{hosts: [google.com], workloadSelector: {labels: {key: bar}}, ports: [{number: 80, protocol: http, name: http-valid1, targetPort: 1234}]}", valid: true, warning: true),
    ServiceEntryCase("valid endpoint port", "{hosts: [google.com], ports: [{number: 80, protocol: http, name: http-valid1, targetPort: 81}], resolution: STATIC, endpoints: [{address: 1.1.1.1, ports: {http-valid1: 8081}}]}", valid: true, warning: false),
    ServiceEntryCase("invalid endpoint port", "{hosts: [google.com], ports: [{number: 80, protocol: http, name: http-valid1, targetPort: 81}], resolution: STATIC, endpoints: [{address: 1.1.1.1, ports: {http-valid1: 65536}}]}", valid: false, warning: false),
    ServiceEntryCase("protocol unset for addresses empty", "{hosts: [google.com], addresses: [], ports: [{number: 80, protocol: http, name: http-valid1}, {number: 8080, name: http-valid2}], resolution: NONE}", valid: true, warning: true),
    ServiceEntryCase("protocol is TCP for addresses empty", "{hosts: [google.com], addresses: [], ports: [{number: 80, protocol: http, name: http-valid1}, {number: 81, protocol: TCP, name: tcp-valid1}], resolution: NONE}", valid: true, warning: true),
    ServiceEntryCase("dns round robin with more than one endpoint", "{hosts: [google.com], addresses: [], ports: [{number: 8081, protocol: http, name: http-valid1}], endpoints: [{address: api-v1.istio.io, ports: {http-valid1: 8081}}, {address: 1.1.1.2, ports: {http-valid1: 8081}}], resolution: DNS_ROUND_ROBIN}", valid: false, warning: false),
    ServiceEntryCase("dns round robin with 0 endpoints", "{hosts: [google.com], addresses: [], ports: [{number: 8081, protocol: http, name: http-valid1}], endpoints: [], resolution: DNS_ROUND_ROBIN}", valid: true, warning: false),
    ServiceEntryCase("partial wildcard hosts", "{hosts: ['*.nytimes.com', '*washingtonpost.com'], addresses: [], ports: [{number: 443, protocol: HTTPS, name: https-nytimes}], endpoints: [], resolution: NONE}", valid: true, warning: true),
    ServiceEntryCase("network set with no address on endpoint", "{hosts: [www.example.com], addresses: [], ports: [{number: 443, protocol: HTTPS, name: https-example}], endpoints: [{network: cluster-1}], resolution: STATIC}", valid: true, warning: true),
    ServiceEntryCase("discovery type DYNAMIC_DNS, unsupported TCP protocol", "{hosts: ['*.google.com'], addresses: [], ports: [{number: 80, protocol: http, name: http-valid1}, {number: 81, protocol: TCP, name: tcp-valid1}], resolution: DYNAMIC_DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS, GRPC protocol", "{hosts: ['*.svc.cluster.local'], addresses: [], ports: [{number: 9090, protocol: GRPC, name: grpc}], resolution: DYNAMIC_DNS}", valid: true, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS, FQDN host", "{hosts: [google.com], addresses: [], ports: [{number: 80, protocol: http, name: http-valid}], resolution: DYNAMIC_DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS, endpoints set", "{hosts: ['*.google.com'], addresses: [], \(oneHTTPPort), endpoints: [{address: in.google.com, ports: {http-valid1: 9080}}], resolution: DYNAMIC_DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS, IP address set", "{hosts: ['*.google.com'], addresses: [10.10.10.10], \(twoHTTPPorts), resolution: DYNAMIC_DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS, empty hosts", "{hosts: [], addresses: [], \(oneHTTPPort), resolution: DYNAMIC_DNS}", valid: false, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS, multiple wildcarded hosts", "{hosts: ['*.google.com', '*.amazon.com'], addresses: [], \(oneHTTPPort), resolution: DYNAMIC_DNS}", valid: true, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS, internal mesh location", "{hosts: ['*.google.com'], addresses: [], \(oneHTTPPort), resolution: DYNAMIC_DNS, location: MESH_INTERNAL}", valid: true, warning: false),
    ServiceEntryCase("discovery type DYNAMIC_DNS, MESH_INTERNAL with waypoint (invalid)", "{hosts: ['*.google.com'], addresses: [], \(oneHTTPPort), resolution: DYNAMIC_DNS, location: MESH_INTERNAL}", valid: false, warning: false, labels: "{istio.io/use-waypoint: my-waypoint}"),
]

@Suite struct ValidationServiceEntryTests {
    @Test(arguments: istioServiceEntryCases)
    func serviceEntry(_ testCase: ServiceEntryCase) throws {
        let se = try Fixture.serviceEntry(spec: testCase.rule.yaml, labels: testCase.labels)
        expectVerdict(Validator().validate(se), testCase.rule)
    }

    @Test func autoAllocationOptOutBringsBackTheAddressWarning() throws {
        let spec = "{hosts: [db.example.com], ports: [{number: 5432, protocol: TCP, name: tcp-pg}], resolution: DNS}"
        #expect(Validator().validate(try Fixture.serviceEntry(spec: spec)).isEmpty)
        let optedOut = try Fixture.serviceEntry(spec: spec, labels: "{networking.istio.io/enable-autoallocate-ip: 'false'}")
        #expect(Validator().validate(optedOut).map(\.message) == ["addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not enabled"])
    }

    @Test func serviceEntryMessagesAndPaths() throws {
        let se = try Fixture.serviceEntry(spec: "{hosts: [a.com, b.com], addresses: [10.0.0.0/8], ports: [{number: 80, protocol: HTTPX, name: web}, {number: 80, protocol: TCP, name: web}], resolution: DNS, exportTo: ['*', ns1]}")
        #expect(Validator().validate(se).map { "\($0.field?.description ?? ""): \($0.message)" } == [
            "addresses: CIDR addresses are allowed only for NONE/STATIC resolution types",
            "ports[0].protocol: unsupported protocol: HTTPX",
            "ports[1].name: service entry port name \"web\" already defined",
            "ports[1].number: service entry port 80 already defined",
            "hosts: service entry can not have more than one host specified simultaneously with address and tcp port",
            "ports[0]: multiple hosts provided with non-HTTP, non-TLS ports",
            "exportTo: cannot have both public (*) and non-public exportTo values for a resource",
        ])
    }

    @Test func badSelectorStopsValidationLikeIstio() throws {
        let se = try Fixture.serviceEntry(spec: "{hosts: ['*'], workloadSelector: {labels: {app: '*'}}}")
        #expect(Validator().validate(se).map(\.message) == ["wildcard is not supported in selector: \"app=*\""])
    }

    @Test func dnsHostWithoutEndpointsMessage() throws {
        let se = try Fixture.serviceEntry(spec: "{hosts: ['*.google.com'], \(oneHTTPPort), resolution: DNS}")
        #expect(Validator().validate(se).map(\.message) == [
            "hosts must be FQDN or contain only prefix wildcards if no endpoints are provided for resolution mode DNS, domain name \"*.google.com\" invalid (label \"*\" invalid)"
        ])
    }

    // Ported from pkg/config/validation/testdata/crds/serviceentry-{valid,invalid}.yaml.
    @Test func istioCRDTestdata() throws {
        for spec in [
            "{hosts: [example.com], workloadSelector: {labels: {foo: bar}}, addresses: [1.2.3.4, 001:db8::], exportTo: [foo, .], location: MESH_EXTERNAL, ports: [{name: foo, protocol: HTTP, number: 1234, targetPort: 2345}], subjectAltNames: [sa], resolution: DNS}",
            "{hosts: [example.com], endpoints: [{address: sub.example.com}], ports: [{name: foo, protocol: HTTP, number: 1234, targetPort: 2345}], resolution: DNS}",
            "{workloadSelector: {}, hosts: [example.com]}",
            "{hosts: ['*x']}",
            "{hosts: [example.com], addresses: [1.1.1.1/32]}",
        ] {
            let errors = Validator().validate(try Fixture.serviceEntry(spec: spec)).filter { $0.severity == .error }
            #expect(errors.isEmpty, "\(spec): \(errors.map(\.description))")
        }
        for (spec, fragment) in [
            ("{}", "service entry must have at least one host"),
            ("{hosts: [example.com], workloadSelector: {labels: {val: '*'}}}", "wildcard is not supported in selector"),
            ("{hosts: [example.com], workloadSelector: {}, endpoints: [{address: 1.2.3.4}]}", "only one of WorkloadSelector or Endpoints is allowed in Service Entry"),
            ("{hosts: ['*']}", "invalid host *"),
            ("{hosts: [example.com], addresses: [1.2.3.4/16], resolution: DNS}", "CIDR addresses are allowed only for NONE/STATIC resolution types"),
            ("{hosts: [example.com], ports: [{name: a, number: 1}, {name: a, number: 12}]}", "service entry port name \"a\" already defined"),
            ("{hosts: [example.com], ports: [{name: a, number: 1}, {name: b, number: 1}]}", "service entry port 1 already defined"),
            ("{hosts: [example.com], ports: [{name: a, number: 99999}]}", "port number 99999 must be in the range 1..65535"),
            ("{hosts: [example.com], ports: [{name: a, number: 1, targetPort: 99999}]}", "port number 99999 must be in the range 1..65535"),
            ("{hosts: [example.com], endpoints: [{address: 1.2.3.4}], resolution: NONE}", "no endpoints should be provided for resolution type none"),
            ("{hosts: [example.com], resolution: DNS_ROUND_ROBIN, endpoints: [{address: sub1.example.com}, {address: sub2.example.com}]}", "there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN"),
        ] {
            let messages = Validator().validate(try Fixture.serviceEntry(spec: spec)).filter { $0.severity == .error }.map(\.message)
            #expect(messages.contains { $0.contains(fragment) }, "\(spec): \(messages)")
        }
    }

    // Ported from TestValidateWorkloadEntry (all cases).
    @Test(arguments: [
        RuleCase("valid", "{address: 1.2.3.4}", valid: true, warning: false),
        RuleCase("missing address", "{}", valid: false, warning: false),
        RuleCase("missing address with network", "{network: network-2}", valid: true, warning: true),
        RuleCase("valid unix endpoint", "{address: 'unix:///lon/google/com'}", valid: true, warning: false),
        RuleCase("invalid unix endpoint", "{address: 'unix:///lon/google/com', ports: {'7777': 7777}}", valid: false, warning: false),
        RuleCase("valid FQDN", "{address: validdns.com, ports: {'7777': 7777}}", valid: true, warning: false),
        RuleCase("invalid FQDN", "{address: 'invaliddns.com:9443', ports: {'7777': 7777}}", valid: false, warning: false),
        RuleCase("valid IP", "{address: 172.16.1.1, ports: {'7777': 7777}}", valid: true, warning: false),
        RuleCase("bad label", "{address: 172.16.1.1, labels: {app: 'a b'}}", valid: false, warning: false),
        RuleCase("port out of range", "{address: 172.16.1.1, ports: {http: 70000}}", valid: false, warning: false),
    ])
    func workloadEntry(_ testCase: RuleCase) throws {
        expectVerdict(Validator().validate(try Fixture.workloadEntry(spec: testCase.yaml)), testCase)
    }

    // Ported from pkg/config/validation/testdata/crds/workloadentry-{valid,invalid}.yaml.
    @Test func workloadEntryCRDTestdata() throws {
        for spec in [
            "{address: 1.2.3.4, serviceAccount: sa, network: net, labels: {app: app}, ports: {http: 1}, weight: 2, locality: foo/bar/baz}",
            "{network: net}", "{address: 'unix://@foo'}", "{address: 'unix:///foo/bar'}", "{address: example.com}",
        ] {
            let errors = Validator().validate(try Fixture.workloadEntry(spec: spec)).filter { $0.severity == .error }
            #expect(errors.isEmpty, "\(spec): \(errors.map(\.description))")
        }
        for (spec, message) in [
            ("{}", "address is required"),
            ("{address: 'unix:///dir/'}", "/dir/ is not an absolute path to a file"),
            ("{address: 'unix://relative'}", "relative is not an absolute path to a file"),
            ("{address: 'unix://@foo', ports: {http: 80}}", "unix endpoint unix://@foo must not include ports"),
            ("{address: 1.1.1.1, ports: {http: 99999}}", "port number 99999 must be in the range 1..65535"),
            ("{address: 1.1.1.1, ports: {'@': 80}}", "invalid port name: @"),
        ] {
            let messages = Validator().validate(try Fixture.workloadEntry(spec: spec)).map(\.message)
            #expect(messages == [message], "\(spec)")
        }
    }
}
