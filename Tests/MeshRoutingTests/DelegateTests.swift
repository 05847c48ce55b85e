import MeshConfig
import Testing

@testable import MeshRouting

/// Delegate VirtualServices, merged into the root as istiod merges them
/// (`mergeVirtualServices`, pilot/pkg/model/virtualservice_controller.go; `MergeHTTPRoutes`,
/// `mergeHTTPMatchRequests`, `hasConflict`, pilot/pkg/model/virtualservice.go).
@Suite struct DelegateTests {
    /// The reviews workloads, a root VirtualService for reviews with the given `http:` rules, and
    /// the given delegates (whole documents).
    func delegating(_ http: String, delegates: String) throws -> RoutingSnapshot {
        try snapshot(
            reviewsWorkloads + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews-root, namespace: default}
                spec:
                  hosts: [reviews]
                  http:
                \(http)
                ---
                \(delegates)
                """)
    }

    let apiDelegate = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-api, namespace: default}
        spec:
          http:
          - name: v2
            match: [{uri: {prefix: /api/v2}}, {headers: {x-beta: {exact: "1"}}}]
            route:
            - destination: {host: reviews, subset: v2}
          - name: rest
            route:
            - destination: {host: reviews, subset: v1}
        """

    @Test func theDelegatesRulesTakeTheRootRulesPlaceWithMatchesMerged() throws {
        let snapshot = try delegating(
            """
              - name: api
                match: [{uri: {prefix: /api}}]
                delegate: {name: reviews-api}
              - name: static
                route:
                - destination: {host: reviews, subset: v1}
                  weight: 100
            """, delegates: apiDelegate)
        #expect(snapshot.clusterName(request("/api/v2/items")) == cluster("v2"))
        #expect(snapshot.ruleHeader(request("/api/v2/items")) == "default/reviews-root/api-v2")
        #expect(snapshot.clusterName(request("/api/v1/items")) == cluster("v1"))
        #expect(snapshot.ruleHeader(request("/api/v1/items")) == "default/reviews-root/api-rest")
        // The header block inherits the root's uri prefix: it holds under /api only.
        #expect(snapshot.clusterName(request("/api/x", headers: [("x-beta", "1")])) == cluster("v2"))
        #expect(snapshot.ruleHeader(request("/other", headers: [("x-beta", "1")])) == "default/reviews-root/static")
    }

    @Test func aDelegateRuleWhoseMatchLeavesTheRootsIsDropped() throws {
        let delegate = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-api, namespace: default}
            spec:
              http:
              - name: elsewhere
                match: [{uri: {prefix: /admin}}]
                route:
                - destination: {host: reviews, subset: v2}
              - name: exact-inside
                match: [{uri: {exact: /api/health}}]
                route:
                - destination: {host: reviews, subset: v2}
            """
        let snapshot = try delegating(
            """
              - match: [{uri: {prefix: /api}}]
                delegate: {name: reviews-api, namespace: default}
            """, delegates: delegate)
        // /admin is not under /api (stringMatchConflict), so that rule does not exist at all.
        #expect(snapshot.isNoRoute(request("/admin")))
        #expect(snapshot.clusterName(request("/api/health")) == cluster("v2"))
        #expect(snapshot.isNoRoute(request("/api/other")))
        #expect(snapshot.diagnostics.contains { $0.resource == "VirtualService default/reviews-api" && $0.message.contains("drops this delegate rule") })
    }

    @Test func shortHostsResolveInTheDelegatesNamespaceAndUnsetFieldsComeFromTheRoot() throws {
        let delegate = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-team, namespace: team}
            spec:
              http:
              - route:
                - destination: {host: reviews, subset: v2}
              - route:
                - destination: {host: reviews, subset: v1}
                timeout: 1s
            """
        let snapshot = try delegating(
            """
              - match: [{uri: {prefix: /}}]
                timeout: 3s
                retries: {attempts: 0}
                delegate: {name: reviews-team, namespace: team}
            """, delegates: delegate)
        guard case .forward(let forward) = snapshot.decide(request("/x")) else {
            Issue.record("expected a forward")
            return
        }
        // `reviews` written in namespace team is reviews.team.svc.cluster.local.
        #expect(forward.cluster.name == Cluster.name(host: "reviews.team.svc.cluster.local", subset: "v2", port: 9080))
        #expect(forward.timeout?.description == "3s")
        #expect(forward.retries == .disabled)
    }

    @Test func aMissingOrUnexportedDelegateDropsOnlyItsRule() throws {
        let hidden = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: hidden, namespace: team}
            spec:
              exportTo: ["."]
              http:
              - route:
                - destination: {host: reviews.default.svc.cluster.local, subset: v2}
            """
        let snapshot = try delegating(
            """
              - match: [{uri: {prefix: /a}}]
                delegate: {name: absent}
              - match: [{uri: {prefix: /b}}]
                delegate: {name: hidden, namespace: team}
              - route:
                - destination: {host: reviews, subset: v1}
            """, delegates: hidden)
        #expect(snapshot.clusterName(request("/a")) == cluster("v1"))
        #expect(snapshot.clusterName(request("/b")) == cluster("v1"))
        #expect(snapshot.diagnostics.contains { $0.message.contains("default/absent not found") })
        #expect(snapshot.diagnostics.contains { $0.message.contains("not exported to default") })
    }

    // hasConflict: a delegate block may narrow the root's, not widen or contradict it.
    @Test(arguments: [
        ("{exact: /a}", "{exact: /a}", false), ("{exact: /a}", "{exact: /b}", true), ("{exact: /a}", "{prefix: /a}", true),
        ("{prefix: /a}", "{prefix: /a/b}", false), ("{prefix: /a/b}", "{prefix: /a}", true), ("{prefix: /a}", "{exact: /a/x}", false),
        ("{prefix: /a}", "{exact: /b}", true), ("{regex: /a.*}", "{prefix: /a}", true), ("{prefix: /a}", "{regex: /a.*}", true),
    ])
    func uriConflicts(root: String, leaf: String, conflicts: Bool) throws {
        func decode(_ yaml: String) throws -> StringMatch {
            let loaded = try resources(
                """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: t, namespace: default}
                spec:
                  hosts: [t]
                  http:
                  - match: [{uri: \(yaml)}]
                    route: [{destination: {host: t}}]
                """)
            guard let match = loaded.virtualServices.first?.spec.http?.first?.match?.first?.uri else { throw FixtureError(description: "no uri") }
            return match
        }
        #expect(DelegateMerger.conflicts(try decode(root), try decode(leaf)) == conflicts)
    }
}
