import MeshProxy
import NIOHTTP1
import Testing

/// Requests through a live proxy reach what the YAML says, and the proxy answers as Envoy
/// does when there is nowhere to go.
@Suite struct RoutingBehaviourTests {
    @Test func exactSplitGivesExactCountsOverAThousandRequests() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/05-canary-5.yaml")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            var destinations: [String: Int] = [:]
            for _ in 0..<1000 {
                try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
                let response = try await connection.readResponse()
                #expect(response.status == 200)
                #expect(response.header("x-meshsim-route") == "default/reviews/canary")
                destinations[response.header("x-meshsim-version") ?? "?", default: 0] += 1
            }
            #expect(destinations == ["v1": 950, "v2": 50])
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|9080|v1|reviews.default.svc.cluster.local", responseCode: 200) == 950)
            #expect(stats.requestCount(cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", responseCode: 200) == 50)
        }
    }

    @Test func seededRandomSplitRepeats() async throws {
        func run() async throws -> [String] {
            try await TestMesh.with(
                files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/50-canary-50.yaml")],
                configuration: TestMesh.configuration(split: .random(seed: 42))
            ) { mesh in
                let connection = try RawConnection(port: mesh.port)
                var versions: [String] = []
                for _ in 0..<40 {
                    try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
                    versions.append(try await connection.readResponse().header("x-meshsim-version") ?? "?")
                }
                return versions
            }
        }
        let first = try await run()
        let second = try await run()
        #expect(first == second)
        #expect(Set(first) == ["v1", "v2"])
    }

    @Test func headerRouteSendsBetaUsersToV2() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("header-routing")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            for _ in 0..<20 {
                try await connection.send("GET /api HTTP/1.1\r\nHost: reviews\r\nX-User-Group: beta\r\n\r\n")
                let response = try await connection.readResponse()
                #expect(response.status == 200)
                #expect(response.header("x-meshsim-version") == "v2")
                #expect(response.header("x-meshsim-route") == "default/reviews/beta-users")
                #expect(response.header("x-meshsim-destination") == "reviews.default.svc.cluster.local|v2")
            }
            try await connection.send("GET /api HTTP/1.1\r\nHost: reviews\r\nX-User-Group: alpha\r\n\r\n")
            #expect(try await connection.readResponse().header("x-meshsim-route") == "default/reviews/canary")
            // Envoy matches a repeated header as its values joined with "," ("beta,alpha" is not "beta").
            try await connection.send("GET /api HTTP/1.1\r\nHost: reviews\r\nX-User-Group: beta\r\nx-user-group: alpha\r\n\r\n")
            #expect(try await connection.readResponse().header("x-meshsim-route") == "default/reviews/canary")
        }
    }

    @Test func absoluteFormTargetRoutesByItsAuthority() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/100-all-v2.yaml")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET http://reviews/echo?x=1 HTTP/1.1\r\nHost: something-else\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.header("x-meshsim-version") == "v2")
            // The pod sees an origin-form target and the authority as Host.
            #expect(response.bodyText.contains("\"path\":\"/echo?x=1\""))
            #expect(response.bodyText.contains("\"host\":\"reviews\""))
        }
    }

    @Test func unknownHostIs404NoRouteWithoutRouteHeader() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: nowhere.example\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 404)
            #expect(response.header("x-meshsim-route") == nil)
            #expect(response.header("server") == "envoy")
            // The connection stays usable after a local reply.
            try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: nil, responseCode: 404, flags: .noRouteFound) == 1)
        }
    }

    @Test func brokenLabelsFailExactlyTheV2ShareWithNoHealthyUpstream() async throws {
        try await TestMesh.with(files: [TestConfigs.path("broken-labels")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            var codes: [Int: Int] = [:]
            for _ in 0..<1000 {
                try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
                let response = try await connection.readResponse()
                codes[response.status, default: 0] += 1
                if response.status == 503 {
                    #expect(response.bodyText == "no healthy upstream")
                    #expect(response.header("x-meshsim-destination") == "reviews.default.svc.cluster.local|v2")
                }
            }
            #expect(codes == [200: 950, 503: 50])
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", responseCode: 503, flags: .noHealthyUpstream) == 50)
        }
    }

    @Test func directResponseRedirectHeaderOperationsAndRewrite() async throws {
        let yaml = TestMesh.service("shop", versions: ["v1": [:]]) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: shop, namespace: default}
            spec:
              hosts: [shop]
              http:
              - name: teapot
                match: [{uri: {exact: /teapot}}]
                directResponse: {status: 418, body: {string: "short and stout"}}
              - name: moved
                match: [{uri: {prefix: /old}}]
                redirect: {uri: /new, authority: shop.example}
              - name: items
                match: [{uri: {regex: "/items/[0-9]+"}}]
                rewrite: {uri: /echo}
                route: [{destination: {host: shop}}]
              - name: api
                match: [{uri: {prefix: /api}}]
                rewrite: {uri: /echo, authority: shop-internal}
                headers:
                  request:
                    set: {x-added: "yes"}
                    remove: [x-secret]
                  response:
                    add: {x-served-by: meshsim-test}
                route: [{destination: {host: shop}}]
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET /teapot HTTP/1.1\r\nHost: shop\r\n\r\n")
            let teapot = try await connection.readResponse()
            #expect(teapot.status == 418)
            #expect(teapot.bodyText == "short and stout")
            #expect(teapot.header("x-meshsim-route") == "default/shop/teapot")

            try await connection.send("GET /old/page HTTP/1.1\r\nHost: shop\r\n\r\n")
            let moved = try await connection.readResponse()
            #expect(moved.status == 301)
            #expect(moved.header("location") == "http://shop.example/new")

            // The pod answers /echo only, so reaching it proves the prefix was replaced.
            try await connection.send("GET /api?id=7 HTTP/1.1\r\nHost: shop\r\nX-Secret: s3\r\n\r\n")
            let api = try await connection.readResponse()
            #expect(api.status == 200)
            #expect(api.header("x-served-by") == "meshsim-test")
            let echoed = api.bodyText
            #expect(echoed.contains("\"path\":\"/echo?id=7\""))
            #expect(echoed.contains("\"host\":\"shop-internal\""))
            #expect(echoed.contains("\"x-added\":\"yes\""))
            #expect(echoed.contains("\"x-envoy-original-path\":\"/api?id=7\""))
            #expect(!echoed.contains("x-secret"))

            // A regex path match hands Envoy's prefix_rewrite the whole path
            // (RegexRouteEntryImpl::currentUrlPathAfterRewrite), so it is replaced whole.
            try await connection.send("GET /items/42?x=1 HTTP/1.1\r\nHost: shop\r\n\r\n")
            let items = try await connection.readResponse()
            #expect(items.status == 200)
            #expect(items.bodyText.contains("\"path\":\"/echo?x=1\""))

            // Istio's default path normalization (normalize_path) runs before routing:
            // /x/../%69tems/8 is /items/8.
            try await connection.send("GET /x/../%69tems/8 HTTP/1.1\r\nHost: shop\r\n\r\n")
            let normalized = try await connection.readResponse()
            #expect(normalized.status == 200)
            #expect(normalized.bodyText.contains("\"path\":\"/echo\""))
        }
    }
}
