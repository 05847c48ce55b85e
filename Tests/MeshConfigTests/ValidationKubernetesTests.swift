import Testing

@testable import MeshConfig

/// A Kubernetes object case from istioctl's TestValidateResource: a whole document and its verdict.
struct KubernetesCase: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var valid: Bool
    /// Whether istioctl prints its telemetry-labels notice (an info here).
    var notice: Bool

    init(_ name: String, _ yaml: String, valid: Bool, notice: Bool = false) {
        self.name = name
        self.yaml = yaml
        self.valid = valid
        self.notice = notice
    }

    var testDescription: String { name }
}

private func service(_ ports: String, namespace: String? = nil) -> String {
    "apiVersion: v1\nkind: Service\nmetadata: {name: hello\(namespace.map { ", namespace: \($0)" } ?? "")}\nspec: {ports: \(ports)}\n"
}

// Ported from Istio istioctl/pkg/validate/validate_test.go: TestValidateResource (every Service and
// Deployment case; the Istio-kind cases there are covered by the other validation suites).
let istioctlKubernetesCases: [KubernetesCase] = [
    KubernetesCase("port name missing service", service("[{protocol: TCP}]"), valid: false),
    KubernetesCase("valid port naming service", service("[{name: http, port: 9080}]"), valid: true),
    KubernetesCase("valid port naming with suffix service", service("[{name: http-hello, port: 9080}]"), valid: true),
    KubernetesCase("invalid port naming service", service("[{name: hello, port: 9080}]"), valid: false),
    KubernetesCase("invalid service list", """
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Service, metadata: {name: details}, spec: {ports: [{name: details, port: 9080}]}}
        - {apiVersion: v1, kind: Service, metadata: {name: hello}, spec: {ports: [{port: 80, protocol: TCP}]}}
        """, valid: false),
    KubernetesCase("skip validating service", service("[{name: hello, port: 9080}]", namespace: "istio-system"), valid: true),
    // istioctl's own input has no apiVersion here, which it reads by kind alone.
    KubernetesCase("service with udp port", "kind: Service\nmetadata: {name: hello}\nspec: {ports: [{protocol: udp}]}\n", valid: true),
    KubernetesCase("appProtocol=http", service("[{appProtocol: http, port: 9080}]"), valid: true),
    KubernetesCase("appProtocol=http,name=fake", service("[{appProtocol: http, name: fake, port: 9080}]"), valid: true),
    KubernetesCase("appProtocol=fake", service("[{appProtocol: fake, port: 9080}]"), valid: false),
    KubernetesCase("version label missing deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hello}\nspec:\n", valid: true, notice: true),
    KubernetesCase("skip validating deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hello, namespace: istio-system}\nspec: ~\n", valid: true),
    KubernetesCase("valid deployment list", """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: apps/v1
          kind: Deployment
          metadata: {name: hello-v1, labels: {app: hello, version: v1}}
          spec: {replicas: 1, template: {metadata: {labels: {app: hello, version: v1}}, spec: {containers: [{name: hello, image: istio/examples-hello, ports: [{containerPort: 9080}]}]}}}
        """, valid: true),
    KubernetesCase("metric labels k8s recommended", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: helloworld-v1}\nspec: {template: {metadata: {labels: {app.kubernetes.io/name: helloworld, app.kubernetes.io/version: v1}}}}\n", valid: true),
    KubernetesCase("metric labels istio canonical", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: helloworld-v1}\nspec: {template: {metadata: {labels: {service.istio.io/canonical-name: helloworld, service.istio.io/canonical-revision: v1}}}}\n", valid: true),
    KubernetesCase("app label without version label", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hello}\nspec: {template: {metadata: {labels: {app: hello}}}}\n", valid: true, notice: true),
    KubernetesCase("grpc-web and mixed-case protocol prefixes", service("[{name: grpc-web, port: 1}, {name: HTTP2-api, port: 2}, {name: tcp, port: 3}, {name: mongo-db, port: 4}]"), valid: true),
    KubernetesCase("empty port name", service("[{name: '', port: 9080}]"), valid: false),
]

@Suite struct ValidationKubernetesTests {
    @Test(arguments: istioctlKubernetesCases)
    func istioctlVerdict(_ testCase: KubernetesCase) throws {
        let loaded = ConfigLoader().load(text: testCase.yaml, file: "k8s.yaml")
        #expect(!loaded.hasErrors, "\(testCase.name): \(loaded.errors.map(\.description))")
        let diagnostics = Validator().validateKubernetesObjects(loaded.resources)
        #expect(diagnostics.contains { $0.severity == .error } == !testCase.valid, "\(testCase.name): \(diagnostics.map(\.description))")
        #expect(diagnostics.contains { $0.severity == .info } == testCase.notice, "\(testCase.name): \(diagnostics.map(\.description))")
    }

    @Test func messagesNameTheFileLineAndPortAsIstioctlDoes() throws {
        let loaded = ConfigLoader().load(text: """
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: shop}
            spec:
              ports:
              - port: 9080
              - name: web
                port: 80
            """, file: "svc.yaml")
        #expect(Validator().validateKubernetesObjects(loaded.resources).map(\.description) == [
            "svc.yaml:6: error: Service shop/reviews: ports[0]: service \"reviews/shop/:\" has an unnamed port. This is not recommended, See https://istio.io/latest/docs/ops/deployment/requirements/",
            "svc.yaml:7: error: Service shop/reviews: ports[1].name: service \"reviews/shop/:\" port \"web\" does not follow the Istio naming convention. See https://istio.io/latest/docs/ops/deployment/requirements/",
        ])
        // The Istio namespace is istioctl's -i; another one can be given.
        #expect(Validator().validateKubernetesObjects(loaded.resources, istioNamespace: "shop").isEmpty)
    }

    /// Serving is not refused for a Service istioctl validate would flag: Istio serves it as TCP.
    @Test func resourceValidationLeavesKubernetesObjectsAlone() throws {
        let loaded = ConfigLoader().load(text: service("[{port: 9080}]"), file: "svc.yaml")
        #expect(Validator().validate(loaded.resources).isEmpty)
    }

    @Test func aDocumentWithoutApiVersionIsReadByItsKindWithAWarning() {
        let loaded = ConfigLoader().load(text: "kind: Service\nmetadata: {name: hello}\nspec: {ports: [{name: http, port: 80}]}\n---\nkind: ConfigMap\nmetadata: {name: cm}\n", file: "a.yaml")
        #expect(loaded.resources.services.map(\.name) == ["hello"])
        #expect(loaded.diagnostics.map(\.description) == [
            "a.yaml:1: warning: document has no apiVersion; read as v1 Service",
            "a.yaml:5: note: skipped ConfigMap cm (no apiVersion): not a kind meshsim reads",
        ])
    }

    @Test func anEmptySpecReadsAsNoFields() {
        let loaded = ConfigLoader().load(text: "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: we}\nspec: ~\n", file: "we.yaml")
        #expect(loaded.diagnostics.isEmpty)
        #expect(Validator().validate(loaded.resources).map(\.message) == ["address is required"])
    }
}
