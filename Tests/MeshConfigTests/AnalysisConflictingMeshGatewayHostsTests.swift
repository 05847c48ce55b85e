import Testing

@testable import MeshConfig

/// IST0109 ConflictingMeshGatewayVirtualServiceHosts, ported from Istio's
/// `virtualservice_conflictingmeshgatewayhosts.yaml`.
@Suite struct AnalysisConflictingMeshGatewayHostsTests {
    static let fixture = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: productpage, namespace: foo}
        spec:
          hosts: [productpage]
          http:
          - route:
            - destination: {host: productpage}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: bogus-productpage, namespace: foo}
        spec:
          hosts: [productpage]
          http:
          - route:
            - destination: {host: reviews}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: foo}
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews}
        ---
        # Same host, but bound to an ingress gateway only: no conflict.
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: bar}
        spec:
          hosts: [reviews.foo.svc.cluster.local]
          gateways: [istio-ingressgateway]
          http:
          - route:
            - destination: {host: reviews}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: foo}
        spec:
          hosts: [ratings]
          gateways: [mesh]
          http:
          - route:
            - destination: {host: ratings}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: bar}
        spec:
          hosts: [ratings.foo.svc.cluster.local, google.com]
          gateways: [istio-ingressgateway, mesh]
          http:
          - route:
            - destination: {host: ratings}
        ---
        # Exported only to its own namespace: does not meet team2's.
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: team1}
        spec:
          hosts: [ratings]
          gateways: [mesh]
          exportTo: ["."]
          http:
          - route:
            - destination: {host: ratings}
        ---
        # Its google.com meets bar/ratings', which is exported everywhere.
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: team2}
        spec:
          hosts: [ratings.team1.svc.cluster.local, google.com]
          exportTo: ["."]
          gateways: [istio-ingressgateway, mesh]
          http:
          - route:
            - destination: {host: ratings}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: team3}
        spec:
          hosts: [ratings]
          gateways: [mesh]
          exportTo: ["*"]
          http:
          - route:
            - destination: {host: ratings}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: team4}
        spec:
          hosts: [ratings.team3.svc.cluster.local]
          gateways: [istio-ingressgateway, mesh]
          http:
          - route:
            - destination: {host: ratings}
        """

    @Test func conflictsAsInIstio() throws {
        let all = analyze(Self.fixture, file: "vs.yaml")
        #expect(findings(all, codes: ["IST0109"]) == [
            "IST0109 VirtualService bar/ratings",
            "IST0109 VirtualService foo/bogus-productpage",
            "IST0109 VirtualService foo/productpage",
            "IST0109 VirtualService foo/ratings",
            "IST0109 VirtualService team2/ratings",
            "IST0109 VirtualService team3/ratings",
            "IST0109 VirtualService team4/ratings",
        ])
        let productpage = try #require(messages(all, code: "IST0109").first { $0.origin == "VirtualService foo/productpage" })
        #expect(productpage.description == "Error [IST0109] (VirtualService foo/productpage vs.yaml:3) The VirtualServices foo/bogus-productpage,foo/productpage associated with mesh gateway define the same host */productpage.foo.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.")
        #expect(productpage.field?.description == "metadata.name")
    }

    @Test func theSameVirtualServiceGivenTwiceIsNoConflict() {
        // Two rollout steps loaded together are one VirtualService, replaced, as kubectl apply would.
        let step = { (weight: Int) in
            """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - route:
                - destination: {host: reviews}
                  weight: \(weight)
            """
        }
        #expect(findings(analyze(step(100) + "\n---\n" + step(50)), codes: ["IST0109"]).isEmpty)
    }
}
