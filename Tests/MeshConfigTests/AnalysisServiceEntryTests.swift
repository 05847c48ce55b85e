import Testing

@testable import MeshConfig

/// IST0134 ServiceEntryAddressesRequired, IST0177 ConflictingServiceEntryProtocol and IST0002
/// Deprecated, ported from Istio's `serviceentry-*.yaml` and the deprecation analyzer.
@Suite struct AnalysisServiceEntryTests {
    static func entry(_ name: String, host: String = "istio.io", addresses: String? = nil, port: String, namespace: String = "default", exportTo: String? = nil) -> String {
        """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: \(name), namespace: \(namespace)}
        spec:
          hosts: [\(host)]
        \(addresses.map { "  addresses: [\($0)]" } ?? "")
        \(exportTo.map { "  exportTo: [\"\($0)\"]" } ?? "")
          ports:
          - \(port)
          location: MESH_EXTERNAL
          resolution: DNS

        """
    }

    @Test func tcpPortsNeedAddressesAsInIstio() {
        let yaml = [
            Self.entry("https-no-address", port: "{number: 443, name: https, protocol: HTTPS}", exportTo: "."),
            Self.entry("tcp-with-address", host: "a.example", addresses: "10.0.0.1", port: "{number: 443, name: tcp, protocol: TCP}", exportTo: "."),
            Self.entry("no-protocol", host: "b.example", port: "{number: 443, name: https}", exportTo: "."),
            Self.entry("empty-protocol", host: "c.example", port: "{number: 443, name: https, protocol: \"\"}", exportTo: "."),
            Self.entry("tcp-lowercase", host: "d.example", port: "{number: 443, name: tcp, protocol: tcp}", exportTo: "."),
        ].joined(separator: "---\n")
        let all = analyze(yaml, file: "se.yaml")
        #expect(findings(all, codes: ["IST0134"]) == [
            "IST0134 ServiceEntry default/empty-protocol",
            "IST0134 ServiceEntry default/no-protocol",
            "IST0134 ServiceEntry default/tcp-lowercase",
        ])
        #expect(messages(all, code: "IST0134").first?.message == "ServiceEntry addresses are required for this protocol.")
        #expect(messages(all, code: "IST0134").first?.field?.description == "ports[0].name")
    }

    @Test func conflictingProtocolsAsInIstio() {
        let yaml = [
            Self.entry("se-https", host: "example.com", addresses: "10.0.0.1", port: "{number: 13835, name: https-13835, protocol: HTTPS}"),
            Self.entry("se-http", host: "example.com", addresses: "10.0.0.1", port: "{number: 13835, name: http-13835, protocol: HTTP}"),
            Self.entry("se-same-1", host: "other.com", addresses: "10.0.0.2", port: "{number: 443, name: https-443, protocol: HTTPS}"),
            Self.entry("se-same-2", host: "other.com", addresses: "10.0.0.2", port: "{number: 443, name: https-443, protocol: HTTPS}"),
            // Each exported only to its own namespace: they never meet.
            Self.entry("se-local-a", host: "local.com", addresses: "10.0.0.3", port: "{number: 80, name: http, protocol: HTTP}", namespace: "a", exportTo: "."),
            Self.entry("se-local-b", host: "local.com", addresses: "10.0.0.3", port: "{number: 80, name: tls, protocol: TLS}", namespace: "b", exportTo: "."),
        ].joined(separator: "---\n")
        let all = analyze(yaml)
        #expect(findings(all, codes: ["IST0177"]) == [
            "IST0177 ServiceEntry default/se-http",
            "IST0177 ServiceEntry default/se-https",
        ])
        #expect(messages(all, code: "IST0177").first?.message
            == #"Multiple ServiceEntries (default/se-http, default/se-https) define the same host "example.com" and port 13835 with conflicting protocols (HTTP, HTTPS)."#)
    }

    @Test func deprecatedDelayPercent() {
        let yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: ratings, namespace: default}
            spec:
              ports:
              - {name: http, port: 9080}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: ratings, namespace: default}
            spec:
              hosts: [ratings]
              http:
              - match:
                - headers: {x-test: {exact: slow}}
                fault:
                  delay: {fixedDelay: 1s, percentage: {value: 10}}
                route:
                - destination: {host: ratings}
              - fault:
                  delay:
                    fixedDelay: 1s
                    percent: 10
                route:
                - destination: {host: ratings}
            """
        #expect(analyze(yaml, file: "vs.yaml").map(\.description) == [
            "Warning [IST0002] (VirtualService default/ratings vs.yaml:23) Deprecated: HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage",
        ])
    }
}
