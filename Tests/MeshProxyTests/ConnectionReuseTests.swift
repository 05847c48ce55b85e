import MeshProxy
import Testing

/// Keep-alive on both sides and pipelining.
@Suite struct ConnectionReuseTests {
    @Test func sequentialRequestsReuseOneUpstreamConnectionPerPod() async throws {
        // ROUND_ROBIN over two pods: each pod gets half the requests, over one connection each.
        let yaml = TestMesh.service("pool", versions: ["v1": [:]], replicas: 2) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: pool, namespace: default}
            spec:
              host: pool
              trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let connection = try RawConnection(port: mesh.port)
            var pods: [String] = []
            for _ in 0..<100 {
                try await connection.send("GET / HTTP/1.1\r\nHost: pool\r\n\r\n")
                let response = try await connection.readResponse()
                #expect(response.status == 200)
                pods.append(response.header("x-meshsim-pod") ?? "?")
            }
            // Round robin alternates strictly.
            #expect(Set(pods) == ["pool-v1-0", "pool-v1-1"])
            #expect(zip(pods, pods.dropFirst()).allSatisfy { $0 != $1 })
            let stats = await mesh.proxy.collectStats()
            let cluster = stats.clusters["outbound|9080||pool.default.svc.cluster.local"]
            #expect(cluster?.connectionsOpened == 2)
            #expect(cluster?.idleConnections == 2)
            let accepted = mesh.fleet.stats.values.reduce(0) { $0 + $1.connectionsAccepted }
            #expect(accepted == 2)
            #expect(stats.downstream.connectionsAccepted == 1)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("header-routing")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            // Three requests in one write: v2 (beta), no route, then v2 again.
            try await connection.send(
                "GET /1 HTTP/1.1\r\nHost: reviews\r\nx-user-group: beta\r\n\r\n"
                    + "GET /2 HTTP/1.1\r\nHost: nowhere\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: reviews\r\nx-user-group: beta\r\nContent-Length: 3\r\n\r\nabc")
            let first = try await connection.readResponse()
            let second = try await connection.readResponse()
            let third = try await connection.readResponse()
            #expect(first.status == 200)
            #expect(first.header("x-meshsim-route") == "default/reviews/beta-users")
            #expect(second.status == 404)
            #expect(third.status == 200)
            #expect(third.bodyText.contains("\"path\":\"/echo\""))
            #expect(third.bodyText.contains("\"bodyBytes\":3"))
        }
    }

    @Test func http10ClientGetsConnectionCloseWhenHTTP10IsAccepted() async throws {
        var configuration = TestMesh.configuration()
        configuration.acceptHTTP10 = true
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")], configuration: configuration) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.0\r\nHost: reviews\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.header("connection") == "close")
            #expect(await connection.waitForClose())
        }
    }

    /// Istio's default (no PILOT_HTTP10): Envoy answers an HTTP/1.0 request 426 Upgrade Required
    /// and closes the connection; nothing reaches a pod.
    @Test func http10IsRefusedWith426ByDefault() async throws {
        try await TestMesh.with(files: [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")]) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.0\r\nHost: reviews\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 426)
            #expect(response.bodyText == "Upgrade Required")
            #expect(response.header("connection") == "close")
            #expect(await connection.waitForClose())
            let stats = await mesh.proxy.collectStats()
            #expect(stats.downstream.protocolErrors == 1)
            #expect(stats.requests.isEmpty, "\(stats.requests)")
        }
    }
}
