import Foundation
import Testing

@testable import MeshConfig

@Suite struct ConfigLoaderTests {
    let loader = ConfigLoader()

    /// `dr.yaml`: DestinationRule `dr` (networking.istio.io/v1) with `spec`, whose first line is
    /// the file's fourth (the line numbers the assertions name count from there).
    func loadDestinationRule(_ spec: String) -> LoadResult {
        loader.load(text: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr}\n" + spec, file: "dr.yaml")
    }

    @Test func decodesVirtualServiceWithShortHostsAndNamespaceDefault() throws {
        let result = loader.load(text: """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata:
              name: reviews
            spec:
              hosts: [reviews]
              http:
              - route:
                - destination: {host: reviews, subset: v1}
                  weight: 95
                - destination: {host: reviews, subset: v2}
                  weight: 5
            """, file: "vs.yaml")
        #expect(result.diagnostics.isEmpty)
        let vs = try #require(result.resources.virtualServices.first)
        #expect(vs.qualifiedName == "default/reviews")
        #expect(vs.spec.http?[0].route?.map(\.weight) == [95, 5])
        #expect(vs.location.line(forSpecPath: ["http", 0, "route", 1]) == 11)
    }

    /// Istio's own CRD test data writes `addresses: [1.2.3.4, 001:db8::]`: Go's YAML reader takes
    /// `001:db8::` as one string, where libyaml stops at the `:` before `]`.
    @Test func colonBeforeAFlowIndicatorStaysInsideAPlainScalarAsInGosYAML() throws {
        let result = loader.load(text: """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: full, namespace: default}
            spec:
              hosts: ["example.com"]
              addresses: [1.2.3.4, 001:db8::]
              exportTo: [foo, .]
              ports: [{name: foo, protocol: HTTP, number: 1234}]
              subjectAltNames: [it's:, 'b']
              resolution: DNS
            """, file: "se.yaml")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let se = try #require(result.resources.serviceEntries.first)
        #expect(se.spec.addresses == ["1.2.3.4", "001:db8::"])
        #expect(se.spec.subjectAltNames == ["it's:", "b"])
        #expect(se.location.line(forSpecPath: ["resolution"]) == 10)
        // Any other YAML error is reported as before.
        let broken = loader.load(text: "kind: ServiceEntry\nspec: {hosts: [a}\n", file: "bad.yaml")
        #expect(broken.errors.count == 1)
        #expect(broken.errors.first?.message.hasPrefix("invalid YAML:") == true)
    }

    /// Go's YAML reader (kubectl, istioctl) makes an unquoted `1`, `1.0` or `yes` a number or a
    /// boolean, which a string field (`type: string` in the CRD, `string` in protobuf) refuses.
    @Test(arguments: [
        ("1", false), ("1.0", false), ("0x1F", false), ("017", false), ("1e3", false), (".5", false), ("-2", false), ("yes", false), ("off", false), ("Y", false),
        ("\"1\"", true), ("'yes'", true), ("!!str 1", true), ("!!str yes", true), ("v1", true), ("1.2.3", true), ("1e", true), ("08x", true), ("0x", true), ("1_000a", true), ("true-ish", true), ("e5", true),
    ])
    func unquotedNumbersAndBooleansAreNotStrings(value: String, loads: Bool) {
        let result = loadDestinationRule("""
            spec:
              host: reviews
              subsets: [{name: v1, labels: {version: \(value)}}]
            """)
        #expect(!result.hasErrors == loads, "\(value): \(result.diagnostics.map(\.description))")
        if !loads {
            #expect(result.errors.first?.description.contains("dr.yaml:6: error: DestinationRule default/dr: subsets[0].labels.version: expected a string, found") == true,
                    "\(result.errors.map(\.description))")
        }
    }

    @Test(arguments: [("true", true), ("yes", true), ("On", true), ("n", true), ("FALSE", true), ("'true'", false), ("\"false\"", false), ("1", false), ("maybe", false)])
    func booleansAreGoYAMLBooleans(value: String, loads: Bool) {
        let result = loadDestinationRule("spec: {host: reviews, trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: \(value)}}}}")
        #expect(!result.hasErrors == loads, "\(value): \(result.diagnostics.map(\.description))")
    }

    @Test(arguments: [("80", 80), ("010", 8), ("0x1F", 31), ("0o17", 15), ("0b11", 3), ("08", 8), ("1e2", 100), ("'010'", 10), ("0", 0), ("1_000", 1000)])
    func integersReadAsGoYAMLReadsThem(value: String, number: Int) throws {
        let result = loadDestinationRule("spec: {host: reviews, trafficPolicy: {connectionPool: {tcp: {maxConnections: \(value)}}}}")
        #expect(result.diagnostics.isEmpty, "\(value): \(result.diagnostics.map(\.description))")
        #expect(result.resources.destinationRules.first?.spec.trafficPolicy?.connectionPool?.tcp?.maxConnections == Int32(number), "\(value)")
    }

    /// YAML merge keys, expanded as gopkg.in/yaml.v2 (behind kubectl and istioctl) expands them.
    @Test func mergeKeysExpandAsInGosYAML() throws {
        let result = loadDestinationRule("""
            spec:
              host: reviews
              trafficPolicy: &base {connectionPool: {tcp: {maxConnections: 1}}, loadBalancer: {simple: RANDOM}}
              subsets:
              - name: v1
                trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}, <<: *base}
              - name: v2
                trafficPolicy: {<<: *base, loadBalancer: {simple: LEAST_REQUEST}}
              - name: v3
                trafficPolicy: {<<: [{loadBalancer: {simple: PASSTHROUGH}}, *base]}
            """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.description))")
        let subsets = try #require(result.resources.destinationRules.first?.spec.subsets)
        #expect(subsets.map { $0.trafficPolicy?.loadBalancer?.simple } == [.random, .leastRequest, .passthrough])
        #expect(subsets.map { $0.trafficPolicy?.connectionPool?.tcp?.maxConnections } == [1, 1, 1])
        let bad = loadDestinationRule("spec: {host: a, <<: [1]}\n")
        #expect(bad.errors.map(\.message) == ["a merge key takes a mapping or a list of mappings"])
    }

    @Test func unknownFieldIsAnErrorWithPathAndLine() {
        let result = loader.load(text: """
            apiVersion: networking.istio.io/v1beta1
            kind: DestinationRule
            metadata: {name: reviews, namespace: shop}
            spec:
              host: reviews
              subsets:
              - name: v1
                lables: {version: v1}
            """, file: "dr.yaml")
        #expect(result.resources.destinationRules.isEmpty)
        #expect(result.errors.map(\.description) == [
            "dr.yaml:8: error: DestinationRule shop/reviews: subsets[0].lables: unknown field \"lables\""
        ])
    }

    @Test func wrongTypesAndBadEnumsNameTheField() {
        let result = loader.load(text: """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: r}
            spec:
              host: r
              trafficPolicy:
                loadBalancer: {simple: FASTEST}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: v}
            spec:
              hosts: [r]
              http:
              - timeout: soon
                route: [{destination: {host: r}}]
            """, file: "x.yaml")
        let messages = result.errors.map(\.description)
        #expect(messages.count == 2)
        #expect(messages[0].hasPrefix("x.yaml:7: error: DestinationRule default/r: trafficPolicy.loadBalancer.simple: unknown value \"FASTEST\""))
        #expect(messages[1].hasPrefix("x.yaml:15: error: VirtualService default/v: http[0].timeout: invalid duration \"soon\""))
    }

    @Test func kubernetesKindsIgnoreUnknownFieldsAndOtherKindsAreSkipped() throws {
        let result = loader.load(text: """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: reviews-v1, uid: abc}
            spec:
              replicas: 2
              strategy: {type: RollingUpdate}
              selector: {matchLabels: {app: reviews}}
              template:
                metadata: {labels: {app: reviews, version: v1}}
                spec: {containers: [{name: app, image: x, resources: {}}]}
            ---
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: {name: knative}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cm}
            """, file: "k.yaml")
        #expect(result.errors.isEmpty)
        #expect(result.diagnostics.filter { $0.severity == .note }.count == 2)
        let deployment = try #require(result.resources.deployments.first)
        #expect(deployment.spec.effectiveReplicas == 2)
        #expect(ServiceRegistry.pods(of: deployment).map(\.name) == ["reviews-v1-0", "reviews-v1-1"])
    }

    @Test func readsJSONAndKubectlLists() {
        let result = loader.load(text: """
            {"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "networking.istio.io/v1alpha3", "kind": "ServiceEntry",
               "metadata": {"name": "ext"}, "spec": {"hosts": ["api.example.com"], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}}
            ]}
            """, file: "l.json")
        #expect(result.errors.isEmpty)
        #expect(result.resources.serviceEntries.first?.spec.hosts == ["api.example.com"])
    }

    @Test(arguments: [
        "[" + String(repeating: "[", count: 5000),
        "a: [1, 2\nb: }",
        "\u{0}\u{1}\u{2}garbage: [",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: [1, 2]",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nspec: {}",
        "- just\n- a list",
    ])
    func garbageGivesAnErrorNotACrash(text: String) {
        let result = loader.load(text: text, file: "bad.yaml")
        #expect(result.hasErrors)
        #expect(result.resources.isEmpty)
    }

    @Test func aliasBombIsBounded() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<9 {
            text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        text += "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: *a8}\n"
        let result = loader.load(text: text, file: "bomb.yaml")
        #expect(result.hasErrors)
    }

    @Test func randomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0..<400, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = loader.load(data: Data(bytes), file: "random.yaml")
        }
    }

    @Test func missingPathIsAnError() {
        let result = loader.load(paths: ["/nonexistent/meshsim/configs"])
        #expect(result.errors.first?.message == "no such file or directory")
    }
}

@Suite struct HostNameTests {
    @Test func shortNamesExpandByNamespace() {
        #expect(HostName.fullyQualified("reviews", namespace: "default") == "reviews.default.svc.cluster.local")
        #expect(HostName.fullyQualified("reviews.prod", namespace: "default") == "reviews.prod")
        #expect(HostName.fullyQualified("*", namespace: "default") == "*")
        #expect(HostName.fullyQualified("10.0.0.1", namespace: "default") == "10.0.0.1")
    }

    @Test func wildcardsMatchSuffixes() {
        #expect(HostName.matches(pattern: "*.example.com", host: "a.example.com"))
        #expect(HostName.matches(pattern: "*.example.com", host: "a.b.example.com"))
        #expect(!HostName.matches(pattern: "*.example.com", host: "example.com"))
        #expect(HostName.overlaps("*.example.com", "*.b.example.com"))
        #expect(!HostName.overlaps("*.example.com", "*.example.org"))
    }

    @Test func durationsParseLikeGo() {
        #expect(IstioDuration(parsing: "1.5s")?.nanoseconds == 1_500_000_000)
        #expect(IstioDuration(parsing: "1h30m")?.seconds == 5400)
        #expect(IstioDuration(parsing: "300ms")?.milliseconds == 300)
        #expect(IstioDuration(parsing: "10") == nil)
        #expect(IstioDuration(parsing: "s") == nil)
        // time.ParseDuration's exact range and arithmetic: up to 2562047h47m16.854775807s.
        #expect(IstioDuration(parsing: "2562047h")?.nanoseconds == Int64(9_223_369_200_000_000_000))
        #expect(IstioDuration(parsing: "2562047h47m16.854775807s")?.nanoseconds == Int64.max)
        #expect(IstioDuration(parsing: "2562047h47m16.854775808s") == nil)
        #expect(IstioDuration(parsing: "-2562047h47m16.854775808s")?.nanoseconds == Int64.min)
        #expect(IstioDuration(parsing: "1.0000000001s")?.nanoseconds == 1_000_000_000)
        #expect(IstioDuration(parsing: "1.59999999999992562047h")?.nanoseconds == 5_759_999_999_999)
        #expect(IstioDuration(parsing: "5.s")?.nanoseconds == 5_000_000_000)
        #expect(IstioDuration(parsing: "+.5ms")?.nanoseconds == 500_000)
        #expect(IstioDuration(parsing: "-0")?.nanoseconds == 0)
        for bad in ["", "+", ".s", "1 s", "1S", "1e3s", "0x10s", "1_000ms", "1s ", "9223372036854775808ns1ns"] {
            #expect(IstioDuration(parsing: bad) == nil, "\(bad)")
        }
    }

    /// istioctl validate's "duplicate key" case: the error names the line of the repeated key.
    @Test func duplicateKeysAreAnErrorAtTheirLine() {
        let result = ConfigLoader().load(text: """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata:
              name: productpage
            spec:
            trafficPolicy: {}
            trafficPolicy:
              tls:
                mode: ISTIO_MUTUAL
            """, file: "dr.yaml")
        #expect(result.diagnostics.map(\.description) == ["dr.yaml:6: error: invalid YAML: key \"trafficPolicy\" already set in map (column 1)"])
    }
}
