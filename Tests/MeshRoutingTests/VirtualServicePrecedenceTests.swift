import MeshConfig
import Testing

@testable import MeshRouting

/// Which VirtualService (and DestinationRule) a sidecar uses when several could apply, and
/// what happens when the one it picks has nothing for this client.
@Suite struct VirtualServicePrecedenceTests {
    func virtualService(_ name: String, namespace: String = "default", host: String = "reviews", subset: String, extra: String = "") -> String {
        """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: \(name), namespace: \(namespace)\(extra)}
        spec:
          hosts: [\(host)]
          http:
          - route:
            - destination: {host: reviews.default.svc.cluster.local, subset: \(subset)}

        """
    }

    // istiod sorts VirtualServices by creationTimestamp, then name, then namespace
    // (configCompareByCreationTime, pilot/pkg/model/config.go; MergedVirtualServices sorts with
    // it), and a sidecar keeps the first for a duplicated host. The order files are read in
    // does not count.
    @Test func duplicateHostGoesToTheOldestThenToTheFirstByName() throws {
        let byName = try snapshot(reviewsWorkloads + virtualService("zeta", subset: "v1") + virtualService("alpha", subset: "v2"))
        #expect(byName.clusterName(request()) == cluster("v2"))
        #expect(byName.diagnostics.contains { $0.resource == "VirtualService default/zeta" && $0.message.contains("IST0109") })

        let byAge = try snapshot(
            reviewsWorkloads + virtualService("zeta", subset: "v1", extra: ", creationTimestamp: \"2024-01-01T00:00:00Z\"")
                + virtualService("alpha", subset: "v2", extra: ", creationTimestamp: \"2024-06-01T00:00:00Z\""))
        #expect(byAge.clusterName(request()) == cluster("v1"))
        #expect(byAge.virtualServices.map(\.name) == ["default/zeta"])
    }

    // SelectVirtualServices (pilot/pkg/model/virtualservice.go) lists VirtualServices private
    // to the client's namespace first, then those exported to it by name, then public ones.
    @Test func aVirtualServicePrivateToTheClientNamespaceBeatsAnOlderPublicOne() throws {
        let privateOne = """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: omega, namespace: default}
            spec:
              hosts: [reviews]
              exportTo: ["."]
              http:
              - route:
                - destination: {host: reviews, subset: v2}

            """
        let snapshot = try snapshot(
            reviewsWorkloads + virtualService("alpha", namespace: "shared", host: "reviews.default.svc.cluster.local", subset: "v1") + privateOne)
        #expect(snapshot.clusterName(request()) == cluster("v2"))
        // From another namespace the private one is invisible: the public one routes.
        let elsewhere = try RoutingSnapshot(
            resources: resources(
                reviewsWorkloads + virtualService("alpha", namespace: "shared", host: "reviews.default.svc.cluster.local", subset: "v1") + privateOne),
            options: RoutingOptions(clientNamespace: "frontend"))
        #expect(elsewhere.clusterName(request(authority: "reviews.default")) == cluster("v1"))
    }

    // BuildSidecarVirtualHostWrapper (pilot/pkg/networking/core/route/route.go) builds no
    // virtual host from a VirtualService none of whose rules apply to the proxy on the port
    // (TranslateRoute drops a match whose port, gateways or source do not fit), and the service
    // then keeps its default route instead of answering 404.
    @Test func aVirtualServiceWithNoRuleForTheClientLeavesTheServiceItsDefaultRoute() throws {
        let sourceOnly = """
              - match: [{sourceLabels: {app: productpage}}]
                route:
                - destination: {host: reviews, subset: v2}
            """
        let unlabelled = try reviewsSnapshot(http: sourceOnly)
        #expect(unlabelled.clusterName(request()) == cluster(nil))
        #expect(unlabelled.explain(request()).route?.isDefaultRoute == true)
        #expect(unlabelled.diagnostics.contains { $0.message.contains("default route") })
        let productpage = try reviewsSnapshot(http: sourceOnly, options: RoutingOptions(clientLabels: ["app": "productpage"]))
        #expect(productpage.clusterName(request()) == cluster("v2"))

        let otherPort = try reviewsSnapshot(
            http: """
                  - match: [{port: 8080}]
                    route:
                    - destination: {host: reviews, subset: v2}
                """)
        #expect(otherPort.clusterName(request(authority: "reviews:9080")) == cluster(nil))

        // A rule that applies but does not match still answers 404 NR.
        let headerOnly = try reviewsSnapshot(
            http: """
                  - match: [{headers: {x-canary: {exact: "1"}}}]
                    route:
                    - destination: {host: reviews, subset: v2}
                """)
        #expect(headerOnly.isNoRoute(request()))
    }

    // With two VirtualServices for one host, the older has no rule for this client: it builds
    // no virtual host, so the newer one's domain is not a duplicate and it routes.
    @Test func aNewerVirtualServiceRoutesWhenTheOlderHasNoRuleForTheClient() throws {
        let older = """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: alpha, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - match: [{gateways: [istio-system/ingress]}]
                route:
                - destination: {host: reviews, subset: v1}

            """
        let snapshot = try snapshot(reviewsWorkloads + older + virtualService("beta", subset: "v2"))
        #expect(snapshot.clusterName(request()) == cluster("v2"))
    }

    // GenerateAltVirtualHosts (pilot/pkg/networking/core/httproute.go) adds the absolute FQDN
    // with its trailing dot to a service's domains (PILOT_ENABLE_ABSOLUTE_FQDN_VHOST_DOMAIN,
    // on by default); short names get no such form.
    @Test func theAbsoluteFQDNWithATrailingDotReachesTheService() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - route:
                    - destination: {host: reviews, subset: v2}
                """)
        #expect(snapshot.clusterName(request(authority: "reviews.default.svc.cluster.local.")) == cluster("v2"))
        #expect(snapshot.clusterName(request(authority: "Reviews.Default.svc.cluster.local.:9080")) == cluster("v2"))
        #expect(snapshot.isNoRoute(request(authority: "reviews.")))
        #expect(snapshot.isNoRoute(request(authority: "reviews.default.")))

        // Routing files alone: meshsim assumes the Service exists, so its absolute FQDN answers too.
        let alone = try RoutingSnapshot(
            resources: resources(
                """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews]
                  http:
                  - route:
                    - destination: {host: reviews, subset: v2}
                """))
        #expect(alone.clusterName(request(authority: "reviews.default.svc.cluster.local.:9080")) == cluster("v2", port: 80))
    }

    // DestinationRules for one host merge in the same creation/name order
    // (initDestinationRules sorts with sortConfigByCreationTime; mergeDestinationRule keeps the
    // first definition of a subset).
    @Test func destinationRulesForOneHostMergeInCreationThenNameOrder() throws {
        let rules = """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: zeta, namespace: default}
            spec:
              host: reviews
              subsets:
              - name: canary
                labels: {version: v2}
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: alpha, namespace: default}
            spec:
              host: reviews
              subsets:
              - name: canary
                labels: {version: v1}

            """
        // reviewsWorkloads' own rule (named reviews) defines v1 and v2 only.
        let snapshot = try snapshot(reviewsWorkloads + rules + virtualService("reviews", subset: "canary"))
        guard case .forward(let forward) = snapshot.decide(request()) else {
            Issue.record("expected a forward")
            return
        }
        #expect(forward.cluster.endpoints.map(\.workload.name).sorted() == ["reviews-v1-0", "reviews-v1-1"])
    }
}
