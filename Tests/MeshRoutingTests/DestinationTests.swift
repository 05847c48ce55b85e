import MeshConfig
import Testing

@testable import MeshRouting

/// Destinations: clusters, subsets and their endpoints, traffic policies, and what a rule
/// hands the proxy (retries, timeouts, faults, headers, redirects, direct responses).
@Suite struct DestinationTests {
    func forward(_ snapshot: RoutingSnapshot, _ request: RouteRequest = request()) throws -> Forward {
        guard case .forward(let forward) = snapshot.decide(request) else { throw FixtureError(description: "not forwarded") }
        return forward
    }

    @Test func subsetSelectsTheWorkloadsWithItsLabels() throws {
        let snapshot = try reviewsSnapshot(http: "  - route: [{destination: {host: reviews, subset: v1}}]")
        let f = try forward(snapshot)
        #expect(f.cluster.name == "outbound|9080|v1|reviews.default.svc.cluster.local")
        #expect(f.cluster.endpoints.map(\.workload.name) == ["reviews-v1-0", "reviews-v1-1"])
        #expect(f.cluster.state == .ready)
        #expect(f.cluster.subsetLabels == ["version": "v1"])
        #expect(f.cluster.serviceName == "reviews")
        #expect(f.cluster.protocol == .http)
        #expect(f.cluster.destinationHeaderValue == "reviews.default.svc.cluster.local|v1")
        #expect(f.cluster.destinationRule == "default/reviews")
        #expect(f.route.headerValue == "default/reviews/0")
    }

    @Test func subsetSelectingNoWorkloadLeavesTheClusterEmpty() throws {
        let snapshot = try reviewsSnapshot(http: "  - route: [{destination: {host: reviews, subset: v3}}]")
        // v3 is not defined at all: Istio builds no cluster (Envoy: 503 NC).
        let undefined = try forward(snapshot).cluster
        #expect(undefined.endpoints.isEmpty)
        #expect(undefined.state == .undefinedSubset)
        #expect(snapshot.explain(request()).responseFlags == "NC")
        #expect(snapshot.explain(request()).status == 503)
    }

    @Test func destinationPortDefaultsToTheServicesOnlyPort() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - match: [{uri: {prefix: /explicit}}]
                    route: [{destination: {host: reviews, subset: v1, port: {number: 9999}}}]
                  - route: [{destination: {host: reviews.default.svc.cluster.local, subset: v1}}]
                """)
        #expect(snapshot.clusterName(request("/explicit")) == cluster("v1", port: 9999))
        #expect(snapshot.clusterName(request("/")) == cluster("v1"))
        // istiod builds outbound clusters for the service's ports only (9080 here), so Envoy
        // finds no cluster for port 9999: 503 NC.
        let explicit = snapshot.explain(request("/explicit"))
        #expect(explicit.status == 503)
        #expect(explicit.responseFlags == "NC")
        #expect(explicit.notes.contains { $0.contains("port 9999 of reviews.default.svc.cluster.local, which the service does not have") })
        #expect(snapshot.explain(request("/")).status == 200)
    }

    @Test func addressesComeFromTheCallerOrTheWorkloadEntry() throws {
        let simulated = try reviewsSnapshot(http: "  - route: [{destination: {host: reviews, subset: v1}}]")
        #expect(try forward(simulated).cluster.endpoints.allSatisfy { $0.address == nil })
        let withAddresses = try RoutingSnapshot(
            resources: resources(reviewsWorkloads), addresses: ["default/reviews-v1-0": EndpointAddress(host: "127.0.0.1", port: 40001)])
        let endpoints = withAddresses.cluster(named: cluster(nil))?.endpoints ?? []
        #expect(endpoints.first { $0.workload.name == "reviews-v1-0" }?.address == EndpointAddress(host: "127.0.0.1", port: 40001))

        let external = try snapshot(
            """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: payments, namespace: default}
            spec:
              hosts: [payments.example.com]
              ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
              resolution: STATIC
              endpoints:
              - {address: 10.0.0.1, labels: {version: v1}}
              - {address: 10.0.0.2, labels: {version: v2}, ports: {http: 9090}, weight: 3}
            """)
        let all = external.cluster(named: Cluster.name(host: "payments.example.com", subset: nil, port: 80))?.endpoints ?? []
        #expect(all.map(\.address) == [EndpointAddress(host: "10.0.0.1", port: 8080), EndpointAddress(host: "10.0.0.2", port: 9090)])
        #expect(all.map(\.weight) == [1, 3])
        #expect(external.clusterName(request(authority: "payments.example.com")) != nil)
    }

    @Test func trafficPolicyMergesSubsetOverTopLevelAndPortLevelWholesale() throws {
        let snapshot = try snapshot(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: default}
            spec:
              selector: {app: reviews}
              ports: [{name: http, port: 9080}]
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: default}
            spec:
              host: reviews
              trafficPolicy:
                loadBalancer: {simple: ROUND_ROBIN}
                connectionPool: {http: {http1MaxPendingRequests: 7}}
                outlierDetection: {consecutive5xxErrors: 3}
              subsets:
              - name: v1
                labels: {version: v1}
              - name: v2
                labels: {version: v2}
                trafficPolicy:
                  loadBalancer: {consistentHash: {httpHeaderName: X-User}}
              - name: v3
                labels: {version: v3}
                trafficPolicy:
                  portLevelSettings:
                  - port: {number: 9080}
                    loadBalancer: {simple: RANDOM}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - match: [{uri: {prefix: /v2}}]
                route: [{destination: {host: reviews, subset: v2}}]
              - match: [{uri: {prefix: /v3}}]
                route: [{destination: {host: reviews, subset: v3}}]
              - route: [{destination: {host: reviews, subset: v1}}]
            """)
        let v1 = try forward(snapshot, request("/")).cluster
        #expect(v1.loadBalancer == .roundRobin)
        #expect(v1.connectionPool?.http?.http1MaxPendingRequests == 7)
        #expect(v1.outlierDetection?.consecutive5xxErrors == 3)
        let v2 = try forward(snapshot, request("/v2")).cluster
        #expect(v2.loadBalancer == .consistentHash(.header("x-user")))
        #expect(v2.connectionPool?.http?.http1MaxPendingRequests == 7)
        // Port-level settings replace the policy wholesale: what they omit falls back to defaults.
        let v3 = try forward(snapshot, request("/v3")).cluster
        #expect(v3.loadBalancer == .random)
        #expect(v3.connectionPool == nil)
        #expect(v3.outlierDetection == nil)
    }

    @Test func destinationRuleInTheClientNamespaceWinsOverTheServiceNamespace() throws {
        let yaml = reviewsWorkloads + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews-from-frontend, namespace: frontend}
            spec:
              host: reviews.default.svc.cluster.local
              trafficPolicy: {loadBalancer: {simple: RANDOM}}
              subsets:
              - name: v1
                labels: {version: v2}
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: everything, namespace: istio-system}
            spec:
              host: "*.cluster.local"
              trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - route: [{destination: {host: reviews, subset: v1}}]
            """
        let fromDefault = try snapshot(yaml)
        #expect(try forward(fromDefault).cluster.endpoints.map(\.workload.name) == ["reviews-v1-0", "reviews-v1-1"])
        let fromFrontend = try snapshot(yaml, options: RoutingOptions(clientNamespace: "frontend"))
        let c = try forward(fromFrontend, request(authority: "reviews.default")).cluster
        #expect(c.endpoints.map(\.workload.name) == ["reviews-v2-0"])
        #expect(c.loadBalancer == .random)
        #expect(c.destinationRule == "frontend/reviews-from-frontend")
        // A service with no rule in its or the client's namespace falls back to the root namespace's wildcard.
        let ratings = try snapshot(
            yaml + """

                ---
                apiVersion: v1
                kind: Service
                metadata: {name: ratings, namespace: other}
                spec:
                  selector: {app: ratings}
                  ports: [{name: http, port: 9080}]
                """)
        #expect(ratings.cluster(named: Cluster.name(host: "ratings.other.svc.cluster.local", subset: nil, port: 9080))?.loadBalancer == .passthrough)
    }

    @Test func retriesTimeoutsAndFaultsFollowIstiosDefaultsAndOverrides() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - match: [{uri: {prefix: /custom}}]
                    timeout: 1.5s
                    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "gateway-error,connect-failure,503"}
                    fault:
                      abort: {httpStatus: 500, percentage: {value: 12.5}}
                      delay: {fixedDelay: 2s, percent: 10}
                    route: [{destination: {host: reviews, subset: v1}}]
                  - match: [{uri: {prefix: /none}}]
                    timeout: 0s
                    retries: {attempts: 0}
                    fault:
                      abort: {httpStatus: 503}
                    route: [{destination: {host: reviews, subset: v1}}]
                  - route: [{destination: {host: reviews, subset: v1}}]
                """)
        let custom = try forward(snapshot, request("/custom"))
        #expect(custom.timeout?.milliseconds == 1500)
        #expect(custom.retries.attempts == 3)
        #expect(custom.retries.retryOn == ["gateway-error", "connect-failure", "retriable-status-codes"])
        #expect(custom.retries.retriableStatusCodes == [503])
        #expect(custom.retries.perTryTimeout?.milliseconds == 500)
        #expect(custom.fault?.abort?.httpStatus == 500)
        #expect(custom.fault?.abort?.perMillion == 125_000)
        #expect(custom.fault?.delay?.percentage == 10)
        #expect(custom.fault?.delay?.duration.seconds == 2)
        let none = try forward(snapshot, request("/none"))
        #expect(none.timeout == nil)
        #expect(!none.retries.isEnabled)
        // An abort without a percentage aborts nothing (Istio leaves Envoy's percentage at 0).
        #expect(none.fault?.abort?.perMillion == 0)
        let defaults = try forward(snapshot, request("/"))
        #expect(defaults.timeout == nil)
        #expect(defaults.retries == .istioDefault)
        #expect(defaults.retries.attempts == 2)
        #expect(defaults.fault == nil)
    }

    /// Runs header steps over a request's headers as Envoy would (names case-insensitive).
    func applying(_ mutations: HeaderMutations?, to headers: [(String, String)]) -> [String] {
        var out = headers
        for step in mutations?.steps ?? [] {
            switch step {
            case .remove(let name): out.removeAll { $0.0.lowercased() == name.lowercased() }
            case .set(let name, let value):
                out.removeAll { $0.0.lowercased() == name.lowercased() }
                out.append((name, value))
            case .append(let name, let value): out.append((name, value))
            }
        }
        return out.map { "\($0.0)=\($0.1)" }.sorted()
    }

    // One destination: Istio appends its operations to the route's (processDestination), one
    // Envoy level: removals first, then the route's set and add, then the destination's.
    @Test func headerOperationsOfOneDestinationFollowTheRoutesInOneLevel() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - headers:
                      request: {set: {x-a: route, x-b: route}, add: {x-c: route}, remove: [x-old]}
                      response: {add: {x-served-by: mesh}}
                    route:
                    - destination: {host: reviews, subset: v1}
                      headers:
                        request: {set: {x-b: destination}, add: {x-c: destination}, remove: [x-other]}
                """)
        let f = try forward(snapshot)
        let client = [("x-old", "1"), ("x-other", "2"), ("x-b", "client"), ("x-c", "client")]
        #expect(applying(f.requestHeaders, to: client) == ["x-a=route", "x-b=destination", "x-c=client", "x-c=destination", "x-c=route"])
        #expect(applying(f.responseHeaders, to: []) == ["x-served-by=mesh"])
        #expect(f.authorityRewrite == nil)
    }

    // Several destinations: each one's operations sit on its weighted cluster, which Envoy applies
    // before the route's (processWeightedDestination; no most_specific_header_mutations_wins), so
    // the route's set and remove win.
    @Test func headerOperationsOfWeightedDestinationsComeBeforeTheRoutes() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - headers:
                      request: {set: {x-b: route}, remove: [x-c]}
                    route:
                    - destination: {host: reviews, subset: v1}
                      weight: 50
                      headers:
                        request: {set: {x-b: v1, x-c: v1}, remove: [x-b]}
                    - destination: {host: reviews, subset: v2}
                      weight: 50
                """)
        var picker = DestinationPicker(mode: .exact)
        var results: [String: [String]] = [:]
        for _ in 0..<2 {
            guard case .forward(let f) = snapshot.route(request(), picker: &picker) else { continue }
            results[f.cluster.subset ?? "-"] = applying(f.requestHeaders, to: [("x-b", "client")])
        }
        #expect(results["v1"] == ["x-b=route"])
        #expect(results["v2"] == ["x-b=route"])
    }

    // `:authority` and `host` are not header operations: Istio turns them into the host rewrite
    // (TranslateHeadersOperations), `rewrite.authority` first, then the route's, then the
    // destination's.
    @Test func authorityHeaderOperationsBecomeTheHostRewrite() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - match: [{uri: {prefix: /route}}]
                    headers:
                      request: {set: {":authority": route.internal, x-a: "1"}}
                    route:
                    - destination: {host: reviews, subset: v1}
                      headers:
                        request: {set: {host: destination.internal}}
                  - match: [{uri: {prefix: /rewrite}}]
                    rewrite: {authority: rewritten.internal}
                    headers:
                      request: {add: {host: route.internal}}
                    route:
                    - destination: {host: reviews, subset: v1}
                  - route:
                    - destination: {host: reviews, subset: v1}
                      headers:
                        request: {add: {host: destination.internal}}
                """)
        let route = try forward(snapshot, request("/route"))
        #expect(route.authorityRewrite == "route.internal")
        #expect(applying(route.requestHeaders, to: []) == ["x-a=1"])
        #expect(try forward(snapshot, request("/rewrite")).authorityRewrite == "rewritten.internal")
        let destination = try forward(snapshot, request("/other"))
        #expect(destination.authorityRewrite == "destination.internal")
        #expect(destination.requestHeaders == nil)
    }

    @Test func redirectBuildsEnvoysLocation() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - match: [{uri: {prefix: /old}}]
                    redirect: {uri: /new, authority: new.example.com}
                  - match: [{uri: {prefix: /secure}}]
                    redirect: {scheme: https, port: 8443, redirectCode: 308}
                  - match: [{uri: {prefix: /same}}]
                    redirect: {uri: "/moved?x=1", derivePort: FROM_REQUEST_PORT, redirectCode: 302}
                """)
        guard case .redirect(let status, let location, let ref) = snapshot.decide(request("/old/page?q=1")) else {
            Issue.record("expected a redirect")
            return
        }
        #expect(status == 301)
        #expect(location == "http://new.example.com/new?q=1")
        #expect(ref.headerValue == "default/reviews/0")
        guard case .redirect(let status2, let location2, _) = snapshot.decide(request("/secure/x", authority: "reviews:9080")) else {
            Issue.record("expected a redirect")
            return
        }
        #expect(status2 == 308)
        #expect(location2 == "https://reviews:8443/secure/x")
        guard case .redirect(let status3, let location3, _) = snapshot.decide(request("/same?y=2")) else {
            Issue.record("expected a redirect")
            return
        }
        #expect(status3 == 302)
        #expect(location3 == "http://reviews:9080/moved?x=1")
        #expect(snapshot.explain(request("/old")).status == 301)
    }

    // ApplyRedirect (route.go) drops a port_redirect of 443 with https (80 with http): Envoy then
    // keeps the request's host and port (Http::Utility::newUri, processRequestHost), stripping
    // the port only when the scheme changes away from x-forwarded-proto's default port.
    @Test func redirectToTheSchemesDefaultPortKeepsTheRequestsPort() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - redirect: {scheme: https, port: 443}
                """)
        func location(_ authority: String, _ headers: [(String, String)] = []) -> String? {
            if case .redirect(_, let location, _) = snapshot.decide(request("/a?b=1", authority: authority, headers: headers)) { return location }
            return nil
        }
        #expect(location("reviews:9080") == "https://reviews:9080/a?b=1")
        #expect(location("reviews") == "https://reviews/a?b=1")
        #expect(location("reviews.default.svc.cluster.local.:9080", [("x-forwarded-proto", "https")]) == "https://reviews.default.svc.cluster.local.:9080/a?b=1")
    }

    // route.go's ApplyRedirect turns `prefixRewrite` into the RedirectAction's prefix_rewrite
    // (not path_redirect): Envoy replaces the part of the path the route matched and keeps the
    // rest and the query (RouteEntryImplBase::finalizePathHeaderForRedirect).
    @Test func redirectPrefixRewriteReplacesTheMatchedPrefix() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - match: [{uri: {prefix: /legacy}}, {uri: {prefix: /old/api}}]
                    redirect: {prefixRewrite: /v2, redirectCode: 302}
                  - match: [{uri: {exact: /home}}]
                    redirect: {prefixRewrite: /index.html}
                  - redirect: {prefixRewrite: /root/}
                """)
        func location(_ path: String) -> String? {
            if case .redirect(_, let location, _) = snapshot.decide(request(path)) { return location }
            return nil
        }
        #expect(location("/legacy/items?id=4") == "http://reviews/v2/items?id=4")
        #expect(location("/old/api/x") == "http://reviews/v2/x")
        #expect(location("/home?lang=en") == "http://reviews/index.html?lang=en")
        // No uri condition: Istio matches prefix "/", so that is what is replaced.
        #expect(location("/other/page") == "http://reviews/root/other/page")
        #expect(snapshot.explain(request("/legacy/items")).action == .redirect(location: "http://reviews/v2/items"))
    }

    @Test func directResponseCarriesStatusAndBody() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - match: [{uri: {exact: /health}}]
                    directResponse: {status: 200, body: {string: ok}}
                  - match: [{uri: {exact: /bytes}}]
                    directResponse: {status: 418, body: {bytes: aGVsbG8=}}
                  - directResponse: {status: 503}
                """)
        guard case .directResponse(let status, let body, _) = snapshot.decide(request("/health")) else {
            Issue.record("expected a direct response")
            return
        }
        #expect(status == 200)
        #expect(body == "ok")
        guard case .directResponse(418, "hello", _) = snapshot.decide(request("/bytes")) else {
            Issue.record("expected 418 hello")
            return
        }
        guard case .directResponse(503, nil, _) = snapshot.decide(request("/x")) else {
            Issue.record("expected 503")
            return
        }
    }

    @Test func mirrorsBecomeClustersWithPercentages() throws {
        let snapshot = try reviewsSnapshot(
            http: """
                  - route: [{destination: {host: reviews, subset: v1}}]
                    mirror: {host: reviews, subset: v2}
                    mirrorPercentage: {value: 25}
                """)
        let mirrors = try forward(snapshot).mirrors
        #expect(mirrors.map(\.cluster.name) == [cluster("v2")])
        #expect(mirrors.map(\.percentage) == [25])
    }
}
