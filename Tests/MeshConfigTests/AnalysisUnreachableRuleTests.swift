import Testing

@testable import MeshConfig

/// IST0130 VirtualServiceUnreachableRule and IST0131 VirtualServiceIneffectiveMatch, ported from
/// Istio's `virtualservice_dupmatches.yaml` and `virtualservice_overlappingmatches.yaml`.
@Suite struct AnalysisUnreachableRuleTests {
    static let duplicateMatches = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: sample-foo-cluster01, namespace: foo}
        spec:
          hosts: [sample.foo.svc.cluster.local]
          http:
          - fault:
              delay:
                fixedDelay: 5s
                percentage: {value: 100}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
          - route:
            - destination: {host: sample.bar.svc.cluster.local}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: duplicate-match}
        spec:
          hosts: [sample.baz.svc.cluster.local]
          http:
          - name: send /api/v1/products to sample.foo
            match:
            - name: prefix /api/v1/products
              uri: {prefix: /api/v1/products}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
          - name: send /api/v1/products to sample.bar
            match:
            - uri: {prefix: /api/v1/products}
            route:
            - destination: {host: sample.bar.svc.cluster.local}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: almost-duplicate-match}
        spec:
          hosts: [sample.bar.svc.cluster.local]
          http:
          - match:
            - uri: {prefix: /api/v1/products}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
          - name: send /api/v1/products and /potato to sample.bar
            match:
            - name: prefix /api/v1/products
              uri: {prefix: /api/v1/products}
            - name: prefix /potato
              uri: {prefix: /potato}
            route:
            - destination: {host: sample.bar.svc.cluster.local}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: duplicate-tcp-match}
        spec:
          hosts: ["*"]
          gateways: [tcp-echo-gateway]
          tcp:
          - match:
            - port: 31400
            route:
            - destination: {host: tcp-echo, port: {number: 9000}}
          - match:
            - port: 31400
            route:
            - destination: {host: tcp-echo, port: {number: 9001}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: duplicate-empty-tcp}
        spec:
          hosts: ["*"]
          gateways: [tcp-echo-gateway]
          tcp:
          - route:
            - destination: {host: tcp-echo, port: {number: 9000}}
          - route:
            - destination: {host: tcp-echo, port: {number: 9001}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: almost-duplicate-tcp-match}
        spec:
          hosts: ["*"]
          gateways: [tcp-echo-gateway]
          tcp:
          - match:
            - port: 31400
            route:
            - destination: {host: tcp-echo, port: {number: 9000}}
          - match:
            - port: 31400
            - port: 31401
            route:
            - destination: {host: tcp-echo, port: {number: 9001}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: tls-routing, namespace: none}
        spec:
          hosts: [www1.googleapis.com, api1.facebook.com]
          tls:
          - match:
            - port: 2443
              sniHosts: [www1.googleapis.com]
            route:
            - destination: {host: www1.googleapis.com}
          - match:
            - port: 2443
              sniHosts: [www1.googleapis.com]
            route:
            - destination: {host: api1.facebook.com}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: tls-routing-almostmatch, namespace: none}
        spec:
          hosts: [www1.example.com]
          tls:
          - match:
            - port: 2443
              sniHosts: [www1.example.com]
            route:
            - destination: {host: www1.googleapis.com}
          - match:
            - port: 2443
              sniHosts: [www1.example.com]
            - port: 8443
              sniHosts: [www1.example.com]
            route:
            - destination: {host: api1.facebook.com}
        """

    static let overlappingMatches = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: non-method-get}
        spec:
          hosts: [a.example.com]
          http:
          - name: send product to sample.foo
            match:
            - uri: {prefix: /api/v1/product}
            - uri: {prefix: /api/v1/products}
              method: {exact: GET}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: uri-with-prefix-exact}
        spec:
          hosts: [b.example.com]
          http:
          - name: send product to sample.foo
            match:
            - uri: {prefix: /}
            - uri: {exact: /}
              method: {exact: GET}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: overlapping-in-single-match}
        spec:
          hosts: [c.example.com]
          http:
          - name: send product to sample.foo
            match:
            - uri: {prefix: /api/v1/product}
              method: {exact: GET}
            - uri: {prefix: /api/v1/products}
              method: {exact: GET}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: overlapping-in-two-matches}
        spec:
          hosts: [d.example.com]
          http:
          - name: send product to sample.foo
            match:
            - uri: {prefix: /api/v1/product}
              method: {exact: GET}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
          - name: send products to sample.bar
            match:
            - uri: {prefix: /api/v1/products}
              method: {exact: GET}
            route:
            - destination: {host: sample.bar.svc.cluster.local}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: overlapping-matches-with-different-methods}
        spec:
          hosts: [e.example.com]
          http:
          - name: send product to sample.foo
            match:
            - uri: {prefix: /api/v1/prod}
              method: {exact: GET}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
          - name: send products to sample.bar
            match:
            - uri: {prefix: /api/v1/product}
              method: {exact: GET}
            - uri: {prefix: /api/v1/products}
              method: {exact: POST}
            route:
            - destination: {host: sample.bar.svc.cluster.local}
        ---
        # Different headers: the later prefix is reachable.
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: prefix-with-different-header}
        spec:
          hosts: [f.example.com]
          http:
          - match:
            - uri: {prefix: /api}
              headers: {x-user-group: {exact: beta}}
            route:
            - destination: {host: sample.foo.svc.cluster.local}
          - match:
            - uri: {prefix: /api/v2}
            route:
            - destination: {host: sample.bar.svc.cluster.local}
        """

    @Test func duplicateAndCatchAllRulesAsInIstio() {
        let all = analyze(Self.duplicateMatches, file: "dup.yaml")
        #expect(findings(all, codes: ["IST0130", "IST0131"]) == [
            "IST0130 VirtualService default/duplicate-empty-tcp",
            "IST0130 VirtualService default/duplicate-match",
            "IST0130 VirtualService default/duplicate-tcp-match",
            "IST0130 VirtualService foo/sample-foo-cluster01",
            "IST0130 VirtualService none/tls-routing",
            "IST0131 VirtualService default/almost-duplicate-match",
            "IST0131 VirtualService default/almost-duplicate-tcp-match",
            "IST0131 VirtualService default/duplicate-match",
            "IST0131 VirtualService default/duplicate-tcp-match",
            "IST0131 VirtualService none/tls-routing",
            "IST0131 VirtualService none/tls-routing-almostmatch",
        ])
        let texts = all.filter { $0.code == "IST0130" || $0.code == "IST0131" }.map(\.message)
        #expect(texts.contains("VirtualService rule #1 not used (only the last rule can have no matches)."))
        #expect(texts.contains(#"VirtualService rule "send /api/v1/products to sample.bar" not used (all matches used by prior rules)."#))
        #expect(texts.contains(#"VirtualService rule "send /api/v1/products to sample.bar" match #0 is not used (duplicate/overlapping match in rule "send /api/v1/products to sample.foo")."#))
        #expect(texts.contains(#"VirtualService rule "send /api/v1/products and /potato to sample.bar" match "prefix /api/v1/products" is not used (duplicate/overlapping match in rule #0)."#))
    }

    @Test func coveredPrefixMatchesAsInIstio() {
        let all = analyze(Self.overlappingMatches)
        #expect(findings(all, codes: ["IST0130", "IST0131"]) == [
            "IST0131 VirtualService default/non-method-get",
            "IST0131 VirtualService default/overlapping-in-single-match",
            "IST0131 VirtualService default/overlapping-in-two-matches",
            "IST0131 VirtualService default/overlapping-matches-with-different-methods",
        ])
        let twoMatches = messages(all, code: "IST0131").first { $0.resourceName == "overlapping-in-two-matches" }
        #expect(twoMatches?.message
            == #"VirtualService rule "send products to sample.bar" match #0 of prefix /api/v1/products is not used (duplicate/overlapping match in rule #0 of prefix /api/v1/product on "send product to sample.foo")."#)
        #expect(twoMatches?.field?.description == "http[1].match[0]")
    }

    @Test func aRuleAfterACatchAllPointsAtTheRule() throws {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.example.com]
              http:
              - name: everyone
                route:
                - destination: {host: reviews.example.com}
              - name: beta
                match:
                - headers: {x-user-group: {exact: beta}}
                - headers: {x-user-group: {exact: alpha}}
                route:
                - destination: {host: reviews.example.com}
            """
        let unreachable = messages(analyze(yaml, file: "vs.yaml"), code: "IST0130")
        // One message for the rule, though both of its matches are shadowed (istioctl dedupes).
        #expect(unreachable.map(\.description) == [
            #"Warning [IST0130] (VirtualService default/reviews vs.yaml:10) VirtualService rule "beta" not used (route without matches defined before)."#,
        ])
    }

    @Test func aRootPrefixShadowsLaterPrefixesButNotOtherMethods() {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: api, namespace: default}
            spec:
              hosts: [api.example.com]
              http:
              - name: everything
                match:
                - uri: {prefix: /}
                route:
                - destination: {host: api.example.com}
              - name: v2
                match:
                - uri: {prefix: /v2}
                - uri: {prefix: /v2}
                  method: {exact: POST}
                route:
                - destination: {host: api.example.com}
            """
        // Istio takes a match without a method as GET, so only the first /v2 match is covered.
        #expect(messages(analyze(yaml), code: "IST0131").map(\.message) == [
            #"VirtualService rule "v2" match #0 of prefix /v2 is not used (duplicate/overlapping match in rule #0 of prefix / on "everything")."#,
        ])
    }

    @Test func headerRoutingBeforeACatchAllIsReachable() {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.example.com]
              http:
              - match:
                - headers: {x-user-group: {exact: beta}}
                  ignoreUriCase: false
                route:
                - destination: {host: reviews.example.com}
              - match:
                - headers: {x-user-group: {exact: alpha}}
                route:
                - destination: {host: reviews.example.com}
              - route:
                - destination: {host: reviews.example.com}
            """
        #expect(findings(analyze(yaml), codes: ["IST0130", "IST0131"]).isEmpty)
    }

    @Test func protobufDefaultsCountAsUnset() {
        // `ignoreUriCase: false` and `port: 0` are what an absent field means in Istio's API.
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.example.com]
              http:
              - match:
                - uri: {exact: /a}
                route:
                - destination: {host: reviews.example.com}
              - match:
                - uri: {exact: /a}
                  ignoreUriCase: false
                  port: 0
                route:
                - destination: {host: reviews.example.com}
            """
        #expect(findings(analyze(yaml), codes: ["IST0130", "IST0131"]) == [
            "IST0130 VirtualService default/reviews", "IST0131 VirtualService default/reviews",
        ])
    }
}
