import MeshConfig
import Testing

@testable import MeshRouting

/// Which virtual host an authority reaches: Istio's sidecar domains for a service, wildcard
/// hosts, non-registry hosts, and the default route of a service without a VirtualService.
@Suite struct VirtualHostTests {
    let canary = """
          - name: all-v2
            route:
            - destination: {host: reviews, subset: v2}
        """

    @Test(arguments: [
        "reviews", "reviews:9080", "reviews.default", "reviews.default:9080", "reviews.default.svc",
        "reviews.default.svc:9080", "reviews.default.svc.cluster.local", "reviews.default.svc.cluster.local:9080",
        "REVIEWS.Default.svc.cluster.local", "Reviews:9080",
    ])
    func everySidecarDomainOfTheServiceReachesItsVirtualService(authority: String) throws {
        let snapshot = try reviewsSnapshot(http: canary)
        #expect(snapshot.clusterName(request(authority: authority)) == cluster("v2"))
    }

    @Test(arguments: ["reviews:9081", "reviews.default.svc.cluster.local:80", "ratings", "reviews.other", "reviews.default.svc.cluster"])
    func otherPortsAndHostsHaveNoRoute(authority: String) throws {
        let snapshot = try reviewsSnapshot(http: canary)
        #expect(snapshot.isNoRoute(request(authority: authority)))
        let explanation = snapshot.explain(request(authority: authority))
        #expect(explanation.status == 404)
        #expect(explanation.responseFlags == "NR")
        #expect(explanation.virtualHost == nil)
    }

    @Test func shortNameResolvesOnlyInTheClientNamespace() throws {
        let options = RoutingOptions(clientNamespace: "frontend")
        let snapshot = try reviewsSnapshot(http: canary, options: options)
        #expect(snapshot.isNoRoute(request(authority: "reviews")))
        #expect(snapshot.clusterName(request(authority: "reviews.default")) == cluster("v2"))
    }

    @Test func serviceWithoutVirtualServiceGetsIstiosDefaultRouteToTheWholeService() throws {
        let snapshot = try snapshot(reviewsWorkloads)
        guard case .forward(let forward) = snapshot.decide(request()) else {
            Issue.record("expected a forward")
            return
        }
        #expect(forward.cluster.name == cluster(nil))
        #expect(forward.cluster.subset == nil)
        #expect(forward.cluster.endpoints.map(\.workload.name).sorted() == ["reviews-v1-0", "reviews-v1-1", "reviews-v2-0"])
        #expect(forward.route.isDefaultRoute)
        #expect(forward.route.headerValue == "default")
        #expect(forward.retries == .istioDefault)
        #expect(forward.cluster.loadBalancer == .leastRequest)
    }

    @Test func theFirstVirtualServiceForAHostWinsAndTheOtherIsReported() throws {
        let snapshot = try snapshot(
            reviewsWorkloads + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: first, namespace: default}
                spec:
                  hosts: [reviews]
                  http:
                  - route:
                    - destination: {host: reviews, subset: v1}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: second, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  http:
                  - route:
                    - destination: {host: reviews, subset: v2}
                """)
        #expect(snapshot.clusterName(request()) == cluster("v1"))
        #expect(snapshot.diagnostics.contains { $0.severity == .warning && $0.resource == "VirtualService default/second" && $0.message.contains("IST0109") })
        #expect(snapshot.virtualServices.map(\.name) == ["default/first"])
    }

    @Test func wildcardHostCoversRegistryServicesAndTheMostSpecificWins() throws {
        let snapshot = try snapshot(
            reviewsWorkloads + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: everything, namespace: default}
                spec:
                  hosts: ["*"]
                  http:
                  - route:
                    - destination: {host: reviews, subset: v1}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: cluster-local, namespace: default}
                spec:
                  hosts: ["*.svc.cluster.local"]
                  http:
                  - route:
                    - destination: {host: reviews, subset: v2}
                """)
        #expect(snapshot.clusterName(request(authority: "reviews")) == cluster("v2"))
        #expect(snapshot.ruleHeader(request(authority: "reviews.default:9080")) == "default/cluster-local/0")
    }

    @Test func nonRegistryHostsGetAVirtualHostOnPort80Only() throws {
        let snapshot = try snapshot(
            """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: external, namespace: default}
            spec:
              hosts: [api.example.com, "*.wild.example.com"]
              http:
              - route:
                - destination: {host: api.example.com}
            """)
        let expected = Cluster.name(host: "api.example.com", subset: nil, port: 80)
        #expect(snapshot.clusterName(request(authority: "api.example.com")) == expected)
        #expect(snapshot.clusterName(request(authority: "API.example.com:80")) == expected)
        #expect(snapshot.isNoRoute(request(authority: "api.example.com:8080")))
        #expect(snapshot.clusterName(request(authority: "a.wild.example.com")) == expected)
        #expect(snapshot.clusterName(request(authority: "b.A.Wild.Example.com:80")) == expected)
        #expect(snapshot.isNoRoute(request(authority: "wild.example.com")))
        #expect(snapshot.isNoRoute(request(authority: "a.wild.example.com:81")))
        // Nothing is declared for the host: its endpoints cannot be checked.
        #expect(snapshot.cluster(named: expected)?.state == .unchecked)
    }

    @Test func aSecondVirtualServiceForANonRegistryHostIsIgnoredAndReported() throws {
        let snapshot = try snapshot(
            """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: first, namespace: default}
            spec:
              hosts: [api.example.com]
              http:
              - route: [{destination: {host: v1.example.com}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: second, namespace: default}
            spec:
              hosts: [api.example.com]
              http:
              - route: [{destination: {host: v2.example.com}}]
            """)
        #expect(snapshot.clusterName(request(authority: "api.example.com")) == Cluster.name(host: "v1.example.com", subset: nil, port: 80))
        #expect(snapshot.diagnostics.contains { $0.resource == "VirtualService default/second" && $0.message.contains("IST0109") })
    }

    @Test func virtualServiceBoundToGatewaysOnlyIsNotUsedBySidecars() throws {
        let snapshot = try snapshot(
            reviewsWorkloads + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: ingress, namespace: default}
                spec:
                  hosts: [reviews]
                  gateways: [istio-system/ingress]
                  http:
                  - route:
                    - destination: {host: reviews, subset: v2}
                """)
        // The service keeps its default route.
        #expect(snapshot.clusterName(request()) == cluster(nil))
        #expect(snapshot.diagnostics.contains { $0.message.contains("not to sidecars") })
    }

    @Test func exportToHidesAVirtualServiceFromOtherNamespaces() throws {
        let yaml = reviewsWorkloads + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: private, namespace: default}
            spec:
              hosts: [reviews]
              exportTo: ["."]
              http:
              - route:
                - destination: {host: reviews, subset: v2}
            """
        #expect(try snapshot(yaml).clusterName(request()) == cluster("v2"))
        let elsewhere = try snapshot(yaml, options: RoutingOptions(clientNamespace: "frontend"))
        #expect(elsewhere.clusterName(request(authority: "reviews.default")) == cluster(nil))
    }

    // GenerateAltVirtualHosts (httproute.go) expands any host under the cluster domain, whatever
    // registry it came from: a ServiceEntry for `legacy.prod.svc.cluster.local` also answers to
    // `legacy.prod` and `legacy.prod.svc` (and `legacy` from namespace prod).
    @Test func aServiceEntryHostUnderTheClusterDomainGetsTheShortForms() throws {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: legacy, namespace: prod}
            spec:
              hosts: [legacy.prod.svc.cluster.local]
              ports: [{number: 8080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.7}]
            """
        let expected = Cluster.name(host: "legacy.prod.svc.cluster.local", subset: nil, port: 8080)
        let fromDefault = try snapshot(yaml)
        #expect(fromDefault.clusterName(request(authority: "legacy.prod:8080")) == expected)
        #expect(fromDefault.clusterName(request(authority: "legacy.prod.svc")) == expected)
        #expect(fromDefault.isNoRoute(request(authority: "legacy")))
        let inProd = try snapshot(yaml, options: RoutingOptions(clientNamespace: "prod"))
        #expect(inProd.clusterName(request(authority: "legacy:8080")) == expected)
    }

    // A Service or ServiceEntry not exported to the client's namespace is outside its sidecar's
    // scope (SidecarScope selects services by exportTo): no virtual host for it, and no cluster,
    // so a route to it finds none (503 NC), and a VirtualService for its host gets a
    // non-registry virtual host (port 80).
    @Test func aServiceNotExportedToTheClientHasNoVirtualHostAndNoCluster() throws {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: payments, namespace: billing}
            spec:
              hosts: [payments.example.com]
              exportTo: ["."]
              ports: [{number: 8080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.0.0.9}]
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: ledger
              namespace: billing
              annotations: {networking.istio.io/exportTo: "billing, audit"}
            spec:
              ports: [{name: http, port: 9090}]
            """
        let outside = try snapshot(yaml)
        #expect(outside.isNoRoute(request(authority: "payments.example.com:8080")))
        #expect(outside.isNoRoute(request(authority: "ledger.billing:9090")))
        let inside = try snapshot(yaml, options: RoutingOptions(clientNamespace: "billing"))
        #expect(inside.clusterName(request(authority: "payments.example.com:8080")) == Cluster.name(host: "payments.example.com", subset: nil, port: 8080))
        let audit = try snapshot(yaml, options: RoutingOptions(clientNamespace: "audit"))
        #expect(audit.clusterName(request(authority: "ledger.billing:9090")) == Cluster.name(host: "ledger.billing.svc.cluster.local", subset: nil, port: 9090))

        let routed = try snapshot(
            yaml + """

                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: payments, namespace: default}
                spec:
                  hosts: [payments.example.com]
                  http:
                  - route: [{destination: {host: payments.example.com, port: {number: 8080}}}]
                """)
        let explanation = routed.explain(request(authority: "payments.example.com"))
        #expect(explanation.status == 503)
        #expect(explanation.responseFlags == "NC")
        #expect(explanation.notes.contains { $0.contains("not exported to the client's namespace default") })
        #expect(routed.isNoRoute(request(authority: "payments.example.com:8080")))
    }

    @Test func multiPortServiceRoutesEachPortAndPortlessAuthorityToTheFirst() throws {
        let snapshot = try snapshot(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec:
              selector: {app: web}
              ports: [{name: http, port: 8080}, {name: http-admin, port: 9090}, {name: tcp-db, port: 5432}]
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default}
            spec:
              template:
                metadata: {labels: {app: web}}
            """)
        let host = "web.default.svc.cluster.local"
        #expect(snapshot.clusterName(request(authority: "web")) == Cluster.name(host: host, subset: nil, port: 8080))
        #expect(snapshot.clusterName(request(authority: "web:9090")) == Cluster.name(host: host, subset: nil, port: 9090))
        // TCP ports get no HTTP route.
        #expect(snapshot.isNoRoute(request(authority: "web:5432")))
    }
}
