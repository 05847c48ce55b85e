import MeshTestSupport
import Testing

@testable import MeshConfig

/// IST0109 ConflictingMeshGatewayVirtualServiceHosts, ported from Istio's
/// `virtualservice_conflictingmeshgatewayhosts.yaml`.
@Suite struct AnalysisConflictingMeshGatewayHostsTests {
    static let fixture = FixtureYAML.documents(
        FixtureYAML.virtualService("productpage", namespace: "foo", http: FixtureYAML.route(to: "productpage")),
        FixtureYAML.virtualService("bogus-productpage", namespace: "foo", hosts: ["productpage"], http: FixtureYAML.route(to: "reviews")),
        FixtureYAML.virtualService("reviews", namespace: "foo", http: FixtureYAML.route(to: "reviews")),
        // Same host, but bound to an ingress gateway only: no conflict.
        FixtureYAML.virtualService(
            "reviews", namespace: "bar", hosts: ["reviews.foo.svc.cluster.local"], spec: "gateways: [istio-ingressgateway]",
            http: FixtureYAML.route(to: "reviews")),
        FixtureYAML.virtualService("ratings", namespace: "foo", spec: "gateways: [mesh]", http: FixtureYAML.route(to: "ratings")),
        FixtureYAML.virtualService(
            "ratings", namespace: "bar", hosts: ["ratings.foo.svc.cluster.local", "google.com"],
            spec: "gateways: [istio-ingressgateway, mesh]", http: FixtureYAML.route(to: "ratings")),
        // Exported only to its own namespace: does not meet team2's.
        FixtureYAML.virtualService(
            "ratings", namespace: "team1", spec: "gateways: [mesh]\nexportTo: [\".\"]", http: FixtureYAML.route(to: "ratings")),
        // Its google.com meets bar/ratings', which is exported everywhere.
        FixtureYAML.virtualService(
            "ratings", namespace: "team2", hosts: ["ratings.team1.svc.cluster.local", "google.com"],
            spec: "exportTo: [\".\"]\ngateways: [istio-ingressgateway, mesh]", http: FixtureYAML.route(to: "ratings")),
        FixtureYAML.virtualService(
            "ratings", namespace: "team3", spec: "gateways: [mesh]\nexportTo: [\"*\"]", http: FixtureYAML.route(to: "ratings")),
        FixtureYAML.virtualService(
            "ratings", namespace: "team4", hosts: ["ratings.team3.svc.cluster.local"], spec: "gateways: [istio-ingressgateway, mesh]",
            http: FixtureYAML.route(to: "ratings")))

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
