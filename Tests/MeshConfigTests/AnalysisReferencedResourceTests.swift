import MeshTestSupport
import Testing

@testable import MeshConfig

/// IST0101 ReferencedResourceNotFound and IST0112 VirtualServiceDestinationPortSelectorRequired,
/// ported from Istio's `virtualservice_destinationhosts.yaml` and `virtualservice_destinationrules.yaml`.
@Suite struct AnalysisReferencedResourceTests {
    static let destinationHosts = FixtureYAML.documents(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: default}
        spec:
          ports:
          - {port: 42, name: tcp-test, protocol: TCP}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: reviews-2port, namespace: default}
        spec:
          ports:
          - {port: 80, name: http-test}
          - {port: 443, name: https-test}
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: external-reviews, namespace: default}
        spec:
          hosts: [external-reviews.org]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: eu-wildcard, namespace: default}
        spec:
          hosts: ["*.eu.bookinfo.com"]
        ---
        # Visible only in its own namespace, so it must not swallow every other host.
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: everything-local, namespace: default-ignore}
        spec:
          exportTo: ["."]
          hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: other-local, namespace: other}
        spec:
          exportTo: ["."]
          hosts: [other.bookinfo.com]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: exported-to-default, namespace: other}
        spec:
          exportTo: [default]
          hosts: [abc.bookinfo.com]
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: details
          namespace: default
          annotations: {networking.istio.io/exportTo: banana}
        spec:
          ports:
          - {port: 9080, name: http}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: hello
          namespace: hello
          annotations: {networking.istio.io/exportTo: "hello1,hello2,."}
        spec:
          ports:
          - {port: 9080, name: http}
        """,
        FixtureYAML.virtualService("reviews", hosts: [], http: FixtureYAML.route(to: "reviews")),
        FixtureYAML.virtualService(
            "reviews-bogushost", hosts: [],
            http: """
                - route:
                  - {}
                  - destination: {host: reviews-bogus}
                """),
        FixtureYAML.virtualService("reviews-fqdn", hosts: [], http: FixtureYAML.route(to: "reviews.default.svc.cluster.local")),
        FixtureYAML.virtualService("reviews-external", hosts: [], http: FixtureYAML.route(to: "external-reviews.org")),
        FixtureYAML.virtualService(
            "reviews-bookinfo-eu", hosts: [],
            http: FixtureYAML.route(to: "reviews.eu.bookinfo.com", "*.eu.bookinfo.com")),
        FixtureYAML.virtualService("reviews-bookinfo-other", hosts: [], http: FixtureYAML.route(to: "other.bookinfo.com")),
        FixtureYAML.virtualService(
            "reviews-mirror", hosts: [],
            http: """
                - route:
                  - destination: {host: reviews}
                  mirror: {host: reviews}
                """),
        FixtureYAML.virtualService(
            "reviews-mirror-bogushost", hosts: [],
            http: """
                - route:
                  - destination: {host: reviews}
                  mirror: {host: reviews-bogus}
                """),
        FixtureYAML.virtualService(
            "reviews-bogusport", hosts: [],
            http: """
                - route:
                  - destination:
                      host: reviews
                      port: {number: 999}
                """),
        FixtureYAML.virtualService("reviews-2port-missing", hosts: [], http: FixtureYAML.route(to: "reviews-2port")),
        FixtureYAML.virtualService(
            "reviews-2port-present", hosts: [],
            http: """
                - route:
                  - destination:
                      host: reviews-2port
                      port: {number: 80}
                """),
        FixtureYAML.virtualService(
            "cross-namespace", namespace: "istio-system", hosts: [],
            http: FixtureYAML.route(to: "reviews.default.svc.cluster.local")),
        FixtureYAML.virtualService(
            "cross-namespace-details", namespace: "istio-system", hosts: [],
            http: FixtureYAML.route(to: "details.default.svc.cluster.local")),
        FixtureYAML.virtualService(
            "banana-details", namespace: "banana", hosts: [],
            http: FixtureYAML.route(to: "details.default.svc.cluster.local")),
        FixtureYAML.virtualService("hello", namespace: "hello1", hosts: [], http: FixtureYAML.route(to: "hello.hello.svc.cluster.local")),
        FixtureYAML.virtualService(
            "hello-local", namespace: "hello", hosts: [],
            http: FixtureYAML.route(to: "hello.hello.svc.cluster.local")),
        FixtureYAML.virtualService(
            "hello-export-to-bogus", namespace: "hello", hosts: [], spec: "exportTo: [bogus]",
            http: FixtureYAML.route(to: "hello.hello.svc.cluster.local")),
        FixtureYAML.virtualService("to-exported-serviceentry", hosts: [], http: FixtureYAML.route(to: "abc.bookinfo.com")))

    @Test func destinationHostsFollowVisibilityAndPortsAsInIstio() {
        let all = analyze(Self.destinationHosts)
        #expect(findings(all, codes: ["IST0101", "IST0112"]) == [
            "IST0101 VirtualService default/reviews-bogushost",
            "IST0101 VirtualService default/reviews-bogushost",
            "IST0101 VirtualService default/reviews-bogusport",
            "IST0101 VirtualService default/reviews-bookinfo-other",
            "IST0101 VirtualService default/reviews-mirror-bogushost",
            "IST0101 VirtualService hello/hello-export-to-bogus",
            "IST0101 VirtualService istio-system/cross-namespace-details",
            "IST0112 VirtualService default/reviews-2port-missing",
        ])
        let texts = Set(messages(all, code: "IST0101").map(\.message))
        #expect(texts.contains(#"Referenced host not found: "reviews-bogus""#))
        #expect(texts.contains(#"Referenced host not found: """#))
        #expect(texts.contains(#"Referenced mirror host not found: "reviews-bogus""#))
        #expect(texts.contains(#"Referenced host:port not found: "reviews:999""#))
        #expect(messages(all, code: "IST0112").first?.message
            == #"This VirtualService routes to a service "reviews-2port" that exposes multiple ports [80 443]. Specifying a port in the destination is required to disambiguate."#)
    }

    @Test func unknownHostPointsAtTheHostField() throws {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: orders, namespace: shop}
            spec:
              hosts: [orders]
              http:
              - route:
                - destination:
                    host: orders
            """
        let message = try #require(messages(analyze(yaml, file: "vs.yaml"), code: "IST0101").first)
        #expect(message.field?.description == "http[0].route[0].destination.host")
        #expect(message.description == #"Error [IST0101] (VirtualService shop/orders vs.yaml:9) Referenced host not found: "orders""#)
    }

    static let destinationRules = """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: default}
        spec:
          ports:
          - {port: 9080, name: http}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: default}
        spec:
          host: reviews
          subsets:
          - name: v1
            labels: {version: v1}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: default}
        spec:
          http:
          - route:
            - destination: {host: reviews, subset: v1}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-bogussubset, namespace: default}
        spec:
          http:
          - route:
            - destination:
                host: reviews
                subset: bogus
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-fqdn, namespace: default}
        spec:
          http:
          - route:
            - destination: {host: reviews.default.svc.cluster.local, subset: v1}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-mirror, namespace: default}
        spec:
          http:
          - route:
            - destination: {host: reviews, subset: v1}
            mirror: {host: reviews, subset: v1}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-mirror-bogussubset, namespace: default}
        spec:
          http:
          - route:
            - destination: {host: reviews, subset: v1}
            mirrors:
            - destination: {host: reviews, subset: bogus}
        ---
        # The subset exists, but for reviews in namespace default, not in other.
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: other-namespace-short-name, namespace: other}
        spec:
          http:
          - route:
            - destination: {host: reviews.default.svc.cluster.local, subset: v1}
            - destination: {host: reviews, subset: v1}
        """

    @Test func subsetsMustBeDefinedByADestinationRuleForTheHost() throws {
        let all = analyze(Self.destinationRules, file: "dr.yaml")
        let subsetMessages = all.filter { $0.code == "IST0101" && $0.message.contains("subset") }
        // Sorted as istioctl sorts: by resource name before namespace.
        #expect(subsetMessages.map(\.description) == [
            #"Error [IST0101] (VirtualService other/other-namespace-short-name dr.yaml:70) Referenced host+subset in destinationrule not found: "reviews+v1""#,
            #"Error [IST0101] (VirtualService default/reviews-bogussubset dr.yaml:33) Referenced host+subset in destinationrule not found: "reviews+bogus""#,
            #"Error [IST0101] (VirtualService default/reviews-mirror-bogussubset dr.yaml:60) Referenced mirror+subset in destinationrule not found: "reviews+bogus""#,
        ])
        #expect(subsetMessages.map { $0.field?.description ?? "" } == [
            "http[0].route[1].destination.subset", "http[0].route[0].destination.subset", "http[0].mirrors[0].destination.subset",
        ])
    }

    @Test func aRouteWithoutSubsetNeedsNoDestinationRule() {
        let yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: ratings, namespace: default}
            spec:
              ports:
              - {port: 9080, name: http}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: ratings, namespace: default}
            spec:
              hosts: [ratings]
              http:
              - route:
                - destination: {host: ratings}
            """
        #expect(analyze(yaml).isEmpty)
    }
}
