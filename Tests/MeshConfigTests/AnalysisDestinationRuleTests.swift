import Testing

@testable import MeshConfig

/// IST0173 DestinationRuleSubsetNotSelectPods, IST0174 UnknownDestinationRuleHost and IST0128/
/// IST0129 (no server certificate verification), ported from Istio's `destinationrule-*.yaml`.
@Suite struct AnalysisDestinationRuleTests {
    static func rule(host: String, subsets: [(String, String)], namespace: String = "default") -> String {
        let list = subsets.map { "  - name: \($0.0)\n    labels: {version: \($0.1)}" }.joined(separator: "\n")
        return """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: \(host.split(separator: ".").first ?? "rule"), namespace: \(namespace)}
            spec:
              host: \(host)
              subsets:
            \(list)

            """
    }

    @Test func subsetWhoseLabelsSelectNoPodIsAnError() throws {
        // Istio's destinationrule-subsets-not-select-pods.yaml, with a v1 pod so that the host has workloads.
        let yaml = workloadYAML(service: "httpbin", podLabels: ["version": "v1"]) + "---\n"
            + Self.rule(host: "httpbin.default.svc.cluster.local", subsets: [("v1", "v1"), ("fake", "v3")])
        let found = messages(analyze(yaml, file: "dr.yaml"), code: "IST0173")
        #expect(found.count == 1)
        let message = try #require(found.first)
        #expect(message.origin == "DestinationRule default/httpbin")
        #expect(message.field?.description == "subsets[1].labels")
        #expect(message.message == "The Subset fake defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).")
        let labelsLine = yaml.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("{version: v3}") }
        #expect(message.line == labelsLine.map { $0 + 1 })
    }

    @Test func subsetsThatSelectPodsAreClean() {
        let yaml = workloadYAML(service: "reviews", podLabels: ["version": "v1"], deployment: "reviews-v1") + "---\n"
            + workloadYAML(service: "reviews", podLabels: ["version": "v2"], deployment: "reviews-v2", withService: false)
            + "---\n" + Self.rule(host: "reviews", subsets: [("v1", "v1"), ("v2", "v2")])
        #expect(messages(analyze(yaml), code: "IST0173").isEmpty)
    }

    @Test func podsOfAnotherServiceDoNotCount() {
        // A v2 pod exists, but behind another Service: Envoy's subset of reviews would be empty.
        let yaml = workloadYAML(service: "reviews", podLabels: ["version": "v1"]) + "---\n"
            + workloadYAML(service: "ratings", podLabels: ["version": "v2"]) + "---\n"
            + Self.rule(host: "reviews", subsets: [("v1", "v1"), ("v2", "v2")])
        #expect(messages(analyze(yaml), code: "IST0173").map(\.message) == [
            "The Subset v2 defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).",
        ])
    }

    @Test func aHostWithoutAnyWorkloadsIsNotJudged() {
        // The Deployments may be in files not given; Istio would report every subset here.
        let yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: httpbin, namespace: default}
            spec:
              selector: {app: httpbin}
              ports:
              - {name: http, port: 8000}
            ---

            """ + Self.rule(host: "httpbin", subsets: [("fake", "v3")])
        #expect(analyze(yaml).isEmpty)
    }

    @Test func unknownHostIsAWarning() throws {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: fake-host, namespace: default}
            spec:
              host: fake-svc.default.svc.cluster.local
              trafficPolicy:
                loadBalancer: {simple: LEAST_REQUEST}
            """
        let all = analyze(yaml, file: "dr.yaml")
        #expect(all.map(\.description) == [
            "Warning [IST0174] (DestinationRule default/fake-host dr.yaml:5) The host fake-svc.default.svc.cluster.local defined in the DestinationRule does not match any services in the mesh.",
        ])
    }

    @Test func hostOfAServiceEntryIsKnown() {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: payments, namespace: default}
            spec:
              hosts: [api.payments.example]
              addresses: [10.0.0.8]
              ports:
              - {number: 443, name: https, protocol: HTTPS}
              resolution: DNS
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: payments, namespace: default}
            spec:
              host: api.payments.example
            """
        #expect(analyze(yaml).isEmpty)
    }

    static let tlsRules = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: db-tls, namespace: default}
        spec:
          host: mydbserver.prod.svc.cluster.local
          trafficPolicy:
            tls:
              mode: SIMPLE
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: db-mtls, namespace: default}
        spec:
          host: mydbserver.prod.svc.cluster.local
          trafficPolicy:
            tls:
              mode: MUTUAL
              clientCertificate: /etc/certs/myclientcert.pem
              privateKey: /etc/certs/client_private_key.pem
            portLevelSettings:
            - port: {number: 443}
              tls:
                mode: SIMPLE
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: db-with-ca, namespace: default}
        spec:
          host: mydbserver.prod.svc.cluster.local
          trafficPolicy:
            tls:
              mode: MUTUAL
              caCertificates: /etc/certs/rootcacerts.pem
            portLevelSettings:
            - port: {number: 443}
              tls:
                mode: SIMPLE
                caCertificates: /etc/certs/rootcacerts.pem
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: db-credential-selector, namespace: default}
        spec:
          host: mydbserver.prod.svc.cluster.local
          workloadSelector:
            matchLabels: {app: gateway}
          trafficPolicy:
            tls:
              mode: SIMPLE
              credentialName: db-credential
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: db-istio-mutual, namespace: default}
        spec:
          host: mydbserver.prod.svc.cluster.local
          trafficPolicy:
            tls:
              mode: ISTIO_MUTUAL
        """

    @Test func tlsWithoutCACertificatesAsInIstio() throws {
        let all = analyze(Self.tlsRules, file: "tls.yaml")
        #expect(findings(all, codes: ["IST0128", "IST0129"]) == [
            "IST0128 DestinationRule default/db-mtls",
            "IST0128 DestinationRule default/db-tls",
            "IST0129 DestinationRule default/db-mtls",
        ])
        #expect(messages(all, code: "IST0129").first?.description
            == "Warning [IST0129] (DestinationRule default/db-mtls tls.yaml:22) DestinationRule default/db-mtls in namespace default has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: mydbserver.prod.svc.cluster.local at port number:443")
        #expect(messages(all, code: "IST0128").first { $0.resourceName == "db-tls" }?.message
            == "DestinationRule default/db-tls in namespace default has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: mydbserver.prod.svc.cluster.local")
    }
}
