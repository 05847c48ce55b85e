import MeshBackends
import MeshProxy
import Testing

/// DestinationRule load balancers, through the proxy to real pods.
@Suite struct LoadBalancerTests {
    static func mesh(loadBalancer: String) -> String {
        TestMesh.service("lb", versions: ["v1": [:]], replicas: 4) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: lb, namespace: default}
            spec:
              host: lb
              trafficPolicy: {loadBalancer: \(loadBalancer)}
            """
    }

    static func pods(_ mesh: LocalMesh, count: Int, request: (Int) -> String) async throws -> [String] {
        let connection = try RawConnection(port: mesh.port)
        var pods: [String] = []
        for i in 0..<count {
            try await connection.send(request(i))
            pods.append(try await connection.readResponse().header("x-meshsim-pod") ?? "?")
        }
        return pods
    }

    @Test func consistentHashByHeaderKeepsAKeyOnOnePod() async throws {
        try await TestMesh.with(yaml: Self.mesh(loadBalancer: "{consistentHash: {httpHeaderName: x-user}}")) { mesh in
            let pods = try await Self.pods(mesh, count: 60) { i in "GET / HTTP/1.1\r\nHost: lb\r\nx-user: user-\(i % 6)\r\n\r\n" }
            for user in 0..<6 {
                let mine = Set(stride(from: user, to: 60, by: 6).map { pods[$0] })
                #expect(mine.count == 1, "user-\(user) reached \(mine)")
            }
            // Six keys over four pods do not all land on one.
            #expect(Set(pods).count > 1)
        }
    }

    @Test func consistentHashByQueryParameterAndSourceIP() async throws {
        try await TestMesh.with(yaml: Self.mesh(loadBalancer: "{consistentHash: {httpQueryParameterName: shard}}")) { mesh in
            let pods = try await Self.pods(mesh, count: 40) { i in "GET /?shard=\(i % 4) HTTP/1.1\r\nHost: lb\r\n\r\n" }
            for shard in 0..<4 { #expect(Set(stride(from: shard, to: 40, by: 4).map { pods[$0] }).count == 1) }
        }
        try await TestMesh.with(yaml: Self.mesh(loadBalancer: "{consistentHash: {useSourceIp: true}}")) { mesh in
            let pods = try await Self.pods(mesh, count: 20) { _ in "GET / HTTP/1.1\r\nHost: lb\r\n\r\n" }
            #expect(Set(pods).count == 1)
        }
    }

    @Test func consistentHashByCookieSetsTheCookieItHashes() async throws {
        try await TestMesh.with(yaml: Self.mesh(loadBalancer: "{consistentHash: {httpCookie: {name: session, ttl: 60s, path: /}}}")) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: lb\r\n\r\n")
            let first = try await connection.readResponse()
            let cookie = try #require(first.header("set-cookie"))
            #expect(cookie.hasPrefix("session=\""))
            #expect(cookie.contains("Max-Age=60"))
            #expect(cookie.contains("Path=/"))
            let value = String(cookie.dropFirst("session=".count).prefix { $0 != ";" })
            var pods: Set<String> = []
            for _ in 0..<10 {
                try await connection.send("GET / HTTP/1.1\r\nHost: lb\r\nCookie: other=1; session=\(value)\r\n\r\n")
                let response = try await connection.readResponse()
                #expect(response.header("set-cookie") == nil)
                pods.insert(response.header("x-meshsim-pod") ?? "?")
            }
            #expect(pods == [first.header("x-meshsim-pod") ?? "?"])
        }
    }

    @Test func roundRobinAndRandomUseEveryPod() async throws {
        try await TestMesh.with(yaml: Self.mesh(loadBalancer: "{simple: ROUND_ROBIN}")) { mesh in
            let pods = try await Self.pods(mesh, count: 8) { _ in "GET / HTTP/1.1\r\nHost: lb\r\n\r\n" }
            #expect(Array(pods[0..<4]) == Array(pods[4..<8]))
            #expect(Set(pods).count == 4)
        }
        try await TestMesh.with(yaml: Self.mesh(loadBalancer: "{simple: RANDOM}")) { mesh in
            let pods = try await Self.pods(mesh, count: 200) { _ in "GET / HTTP/1.1\r\nHost: lb\r\n\r\n" }
            #expect(Set(pods).count == 4)
        }
    }

    @Test func leastRequestAvoidsTheBusyPod() async throws {
        // Two pods, one slow. Requests held open on the slow pod make it the busy one; a new
        // request then reaches it only when both of power-of-two-choices' draws pick it (1 in 4),
        // and the route's 200 ms timeout bounds those.
        let yaml = TestMesh.service("lr", versions: ["slow": ["meshsim.dev/latency": "60s"], "fast": [:]]) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: lr, namespace: default}
            spec:
              host: lr
              trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: lr, namespace: default}
            spec:
              hosts: [lr]
              http:
              - timeout: 200ms
                retries: {attempts: 0}
                route: [{destination: {host: lr}}]
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            var held: [RawConnection] = []
            for _ in 0..<10 {
                let connection = try RawConnection(port: mesh.port)
                // No timeout for these (Envoy's header, believed from an internal client; 0
                // disables): they stay on the slow pod.
                try await connection.send("GET / HTTP/1.1\r\nHost: lr\r\nX-Forwarded-For: 10.0.0.9\r\nx-envoy-upstream-rq-timeout-ms: 0\r\n\r\n")
                held.append(connection)
            }
            // Every held request has been picked: on the slow pod and still there, or answered
            // by the fast one.
            let slow = { mesh.fleet.stats["default/lr-slow-0"] ?? BackendStats() }
            let fast = { mesh.fleet.stats["default/lr-fast-0"] ?? BackendStats() }
            #expect(await TestMesh.waitUntil { slow().inFlight >= 1 && slow().inFlight + fast().requestsServed == 10 })
            let servedBefore = fast().requestsServed
            _ = try await Self.pods(mesh, count: 50) { _ in "GET / HTTP/1.1\r\nHost: lr\r\n\r\n" }
            // The picks are counted where they land, not from the answers: on a loaded machine a
            // request to the fast pod may outlast the 200 ms too, and its 504 is still a pick of
            // the idle pod. Expected 37.5 of 50 on the idle pod (σ ≈ 3); uniform picking would
            // give 25.
            #expect(await TestMesh.waitUntil { fast().inFlight == 0 })
            #expect(fast().requestsServed - servedBefore > 28)
            held.removeAll()
        }
    }
}
