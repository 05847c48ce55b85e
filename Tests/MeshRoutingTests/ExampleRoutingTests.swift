import MeshConfig
import Testing

@testable import MeshRouting

/// The repository's configs/ examples and Istio's documented Bookinfo examples, routed.
@Suite struct ExampleRoutingTests {
    func shares(_ snapshot: RoutingSnapshot, _ request: RouteRequest = request(), count: Int = 100) -> [String: Int] {
        var picker = DestinationPicker(mode: .exact)
        var out: [String: Int] = [:]
        for _ in 0..<count {
            if case .forward(let f) = snapshot.route(request, picker: &picker) { out[f.cluster.subset ?? "-", default: 0] += 1 }
        }
        return out
    }

    @Test func headerRoutingSendsBetaToV2AndSplitsTheRest() throws {
        let snapshot = try snapshot(configs: "reviews", "header-routing")
        #expect(shares(snapshot, request(headers: [("x-user-group", "beta")])) == ["v2": 100])
        #expect(shares(snapshot) == ["v1": 95, "v2": 5])
        let beta = snapshot.explain(request("/api", headers: [("X-User-Group", "beta")]))
        #expect(beta.virtualService == "default/reviews")
        #expect(beta.rule == .init(index: 0, name: "beta-users"))
        #expect(beta.matchIndex == 0)
        #expect(beta.status == 200)
        #expect(beta.destinations.map(\.subset) == ["v2"])
        #expect(beta.destinations.map(\.endpoints) == [["reviews-v2-0", "reviews-v2-1"]])
        let rest = snapshot.explain(request())
        #expect(rest.rule == .init(index: 1, name: "canary"))
        #expect(rest.matchIndex == nil)
        #expect(rest.skippedRules.map(\.index) == [0])
        #expect(rest.destinations.map(\.fraction) == [0.95, 0.05])
    }

    @Test(arguments: [
        ("rollout/00-all-v1.yaml", ["v1": 100]), ("rollout/05-canary-5.yaml", ["v1": 95, "v2": 5]),
        ("rollout/25-canary-25.yaml", ["v1": 75, "v2": 25]), ("rollout/50-canary-50.yaml", ["v1": 50, "v2": 50]),
        ("rollout/100-all-v2.yaml", ["v2": 100]),
    ])
    func everyRolloutStepSplitsAsWritten(step: String, expected: [String: Int]) throws {
        let snapshot = try snapshot(configs: "reviews", step)
        #expect(shares(snapshot) == expected)
        let explanation = snapshot.explain(request())
        #expect(explanation.status == 200)
        #expect(explanation.destinations.allSatisfy { $0.state == .ready })
    }

    @Test func reviewsAloneUsesTheDefaultRouteToAllFourPods() throws {
        let snapshot = try snapshot(configs: "reviews")
        let explanation = snapshot.explain(request())
        #expect(explanation.virtualService == nil)
        #expect(explanation.destinations.map(\.cluster) == [cluster(nil)])
        #expect(explanation.destinations.first?.endpoints.count == 4)
    }

    @Test func brokenLabelsSendsTheV2ShareToAnEmptyCluster() throws {
        let snapshot = try snapshot(configs: "broken-labels")
        let explanation = snapshot.explain(request())
        #expect(explanation.status == 503)
        #expect(explanation.responseFlags == "UH")
        #expect(explanation.destinations.map(\.status) == [200, 503])
        #expect(explanation.destinations.map(\.responseFlags) == ["-", "UH"])
        #expect(explanation.notes.contains { $0.contains("5%") && $0.contains("UH") })
        guard let v2 = snapshot.cluster(named: cluster("v2")) else {
            Issue.record("no v2 cluster")
            return
        }
        #expect(v2.endpoints.isEmpty)
        #expect(v2.state == .noHealthyUpstream)
        #expect(shares(snapshot) == ["v1": 95, "v2": 5])
    }

    @Test func rateLimitedCanaryCarriesTheSubsetsConnectionPoolAndRetries() throws {
        let snapshot = try snapshot(configs: "rate-limited-canary")
        #expect(snapshot.cluster(named: cluster("v2"))?.connectionPool?.http?.http1MaxPendingRequests == 5)
        #expect(snapshot.cluster(named: cluster("v1"))?.connectionPool == nil)
        guard case .forward(let f) = snapshot.decide(request()) else {
            Issue.record("not forwarded")
            return
        }
        #expect(f.retries.attempts == 2)
        #expect(f.retries.retryOn.contains("5xx"))
    }

    @Test func outlierDetectionExampleGivesTheWholeServiceClusterItsSettings() throws {
        let snapshot = try snapshot(configs: "outlier-detection")
        let cluster = try #require(snapshot.cluster(named: "outbound|9080||ratings.default.svc.cluster.local"))
        // Both versions' pods sit behind the one cluster the default route sends to.
        #expect(cluster.endpoints.map(\.workload.name).sorted() == ["ratings-v1-0", "ratings-v1-1", "ratings-v1-2", "ratings-v2-0"])
        #expect(cluster.outlierDetection?.consecutive5xxErrors == 3)
        #expect(cluster.outlierDetection?.maxEjectionPercent == 50)
        #expect(cluster.outlierDetection?.baseEjectionTime?.seconds == 30)
    }

    @Test func grpcCanarySendsBetaToV2AndSplitsGreeterCallsNinetyTen() throws {
        let snapshot = try snapshot(configs: "grpc-canary")
        let greeter = "greeter.default.svc.cluster.local"
        let call = request("/helloworld.Greeter/SayHello", authority: "greeter:50051", method: "POST", headers: [("content-type", "application/grpc")])
        #expect(shares(snapshot, call) == ["v1": 90, "v2": 10])
        let beta = request(
            "/helloworld.Greeter/SayHello", authority: "greeter:50051", method: "POST",
            headers: [("content-type", "application/grpc"), ("x-user-group", "beta")])
        #expect(shares(snapshot, beta) == ["v2": 100])
        #expect(snapshot.cluster(named: cluster("v1", port: 50051, host: greeter))?.protocol == .grpc)
        // Only the helloworld.Greeter service is routed.
        #expect(snapshot.explain(request("/other.Service/Call", authority: "greeter:50051")).status == 404)
    }

    @Test func websocketCanarySendsBetaToV2SplitsTheRestAndCarriesTheCORSPolicy() throws {
        let snapshot = try snapshot(configs: "websocket-canary")
        let handshake = [("connection", "upgrade"), ("upgrade", "websocket")]
        #expect(shares(snapshot, request("/socket", authority: "chat:8080", headers: handshake)) == ["v1": 90, "v2": 10])
        let beta = request("/socket", authority: "chat:8080", headers: handshake + [("x-user-group", "beta")])
        #expect(shares(snapshot, beta) == ["v2": 100])
        guard case .forward(let forward) = snapshot.decide(beta), let cors = forward.cors else {
            Issue.record("no CORS policy on the beta rule")
            return
        }
        #expect(cors.allows(origin: "https://chat.example.com"))
        #expect(!cors.allows(origin: "https://elsewhere.example"))
        #expect(cors.maxAge == "600")

        // The page's preflight is answered by the sidecar: no destination.
        let preflight = snapshot.explain(request(
            "/socket", authority: "chat:8080", method: "OPTIONS",
            headers: [("origin", "https://chat.example.com"), ("access-control-request-method", "GET")]))
        #expect(preflight.action == .directResponse(body: nil))
        #expect(preflight.status == 200)
        #expect(preflight.destinations.isEmpty)
        #expect(preflight.notes.contains { $0.contains("CORS preflight") })
        // From an origin the policy does not list, the preflight is forwarded (FORWARD, the default).
        let unlisted = snapshot.explain(request(
            "/socket", authority: "chat:8080", method: "OPTIONS",
            headers: [("origin", "https://elsewhere.example"), ("access-control-request-method", "GET")]))
        #expect(unlisted.action == .forward)
        #expect(unlisted.notes.contains { $0.contains("is not allowed") })

        // The socket itself is forwarded and noted; another upgrade is the sidecar's 403.
        let socket = snapshot.explain(request("/socket", authority: "chat:8080", headers: handshake))
        #expect(socket.action == .forward && socket.status == 200)
        #expect(socket.notes.contains { $0.contains("WebSocket upgrade") })
        let other = snapshot.explain(request("/socket", authority: "chat:8080", headers: [("connection", "keep-alive, Upgrade"), ("upgrade", "TLS/1.2")]))
        #expect(other.status == 403)
        #expect(other.destinations.isEmpty)
        #expect(snapshot.explain(request("/socket", authority: "chat:8080", headers: [("upgrade", "TLS/1.2")])).status == 200)
    }

    @Test func darkLaunchSendsEveryRequestToV1AndMirrorsAllOfItToV2() throws {
        let snapshot = try snapshot(configs: "dark-launch")
        let httpbin = "httpbin.default.svc.cluster.local"
        let call = request("/anything", authority: "httpbin")
        #expect(shares(snapshot, call) == ["v1": 100])
        let explanation = snapshot.explain(call)
        #expect(explanation.virtualService == "default/httpbin")
        #expect(explanation.rule == .init(index: 0, name: "dark-launch"))
        #expect(explanation.status == 200)
        #expect(explanation.destinations.map(\.cluster) == [cluster("v1", port: 8000, host: httpbin)])
        #expect(explanation.destinations.map(\.endpoints) == [["httpbin-v1-0", "httpbin-v1-1"]])
        guard case .forward(let forward) = snapshot.decide(call) else {
            Issue.record("not forwarded")
            return
        }
        // The shadow copy: every request, to the v2 subset's one pod.
        #expect(forward.mirrors.map(\.cluster.name) == [cluster("v2", port: 8000, host: httpbin)])
        #expect(forward.mirrors.map(\.percentage) == [100])
        #expect(forward.mirrors.first?.cluster.endpoints.map(\.workload.name) == ["httpbin-v2-0"])
    }

    @Test func routingFilesAloneLeaveEndpointsUnchecked() throws {
        let snapshot = try snapshot(configs: "header-routing")
        let explanation = snapshot.explain(request(headers: [("x-user-group", "beta")]))
        #expect(explanation.status == 200)
        #expect(explanation.destinations.first?.state == .unchecked)
        #expect(explanation.notes.contains { $0.contains("not checked") })
    }

    // Istio's Bookinfo request-routing task and VirtualService reference examples.

    let bookinfoReviews = """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: prod}
        spec:
          selector: {app: reviews}
          ports: [{name: http, port: 9080}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: reviews-v1, namespace: prod}
        spec:
          template: {metadata: {labels: {app: reviews, version: v1}}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: reviews-v2, namespace: prod}
        spec:
          template: {metadata: {labels: {app: reviews, version: v2}}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: reviews-v3, namespace: prod}
        spec:
          template: {metadata: {labels: {app: reviews, version: v3}}}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: prod}
        spec:
          host: reviews
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
          - {name: v3, labels: {version: v3}}

        """

    func bookinfo(_ virtualService: String) throws -> RoutingSnapshot {
        try snapshot(bookinfoReviews + "---\n" + virtualService, options: RoutingOptions(clientNamespace: "prod"))
    }

    @Test func requestRoutingTaskSendsJasonToV2() throws {
        let snapshot = try bookinfo(
            """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: prod}
            spec:
              hosts:
              - reviews
              http:
              - match:
                - headers:
                    end-user:
                      exact: jason
                route:
                - destination:
                    host: reviews
                    subset: v2
              - route:
                - destination:
                    host: reviews
                    subset: v1
            """)
        let host = "reviews.prod.svc.cluster.local"
        #expect(snapshot.clusterName(request(headers: [("end-user", "jason")])) == cluster("v2", host: host))
        #expect(snapshot.clusterName(request(headers: [("end-user", "Jason")])) == cluster("v1", host: host))
        #expect(snapshot.clusterName(request()) == cluster("v1", host: host))
    }

    @Test func trafficShiftingTaskSplitsFiftyFifty() throws {
        let snapshot = try bookinfo(
            """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: prod}
            spec:
              hosts:
              - reviews
              http:
              - route:
                - destination:
                    host: reviews
                    subset: v1
                  weight: 50
                - destination:
                    host: reviews
                    subset: v3
                  weight: 50
            """)
        #expect(shares(snapshot) == ["v1": 50, "v3": 50])
    }

    @Test func referenceExampleRewritesCatalogPathsToV2() throws {
        let snapshot = try bookinfo(
            """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-route, namespace: prod}
            spec:
              hosts:
              - reviews.prod.svc.cluster.local
              http:
              - name: "reviews-v2-routes"
                match:
                - uri:
                    prefix: "/wpcatalog"
                - uri:
                    prefix: "/consumercatalog"
                rewrite:
                  uri: "/newcatalog"
                route:
                - destination:
                    host: reviews.prod.svc.cluster.local
                    subset: v2
              - name: "reviews-v1-route"
                route:
                - destination:
                    host: reviews.prod.svc.cluster.local
                    subset: v1
            """)
        guard case .forward(let f) = snapshot.decide(request("/consumercatalog/items")) else {
            Issue.record("not forwarded")
            return
        }
        #expect(f.cluster.subset == "v2")
        #expect(f.rewrite?.uri == "/newcatalog")
        #expect(f.route.headerValue == "prod/reviews-route/reviews-v2-routes")
        #expect(snapshot.explain(request("/consumercatalog")).matchIndex == 1)
        #expect(snapshot.ruleHeader(request("/catalog")) == "prod/reviews-route/reviews-v1-route")
    }
}
