import MeshProxy
import MeshTestSupport
import Testing

/// What the proxy answers when the upstream fails, with Envoy's status, body and flags.
@Suite struct UpstreamFailureTests {
    /// A ServiceEntry whose only endpoint is a port where nothing listens, and a route to it
    /// (`retries`: more of the rule, e.g. "\n  retries: {attempts: 0}").
    static func deadService(port: Int, retries: String = "") -> String {
        FixtureYAML.documents(
            FixtureYAML.serviceEntry("dead", host: "dead.example", port: port),
            FixtureYAML.virtualService("dead", hosts: ["dead.example"], http: "- name: only\n  route: [{destination: {host: dead.example}}]\(retries)"))
    }

    @Test func connectFailureIs503UFAfterIstiosDefaultRetries() async throws {
        let refusing = try RefusingPort()
        let port = refusing.port
        defer { withExtendedLifetime(refusing) {} }
        try await TestMesh.with(yaml: Self.deadService(port: port)) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: dead.example\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 503)
            #expect(response.bodyText.hasPrefix("upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure"))
            #expect(response.bodyText.contains("Connection refused"))
            let stats = await mesh.proxy.collectStats()
            let cluster = "outbound|\(port)||dead.example"
            #expect(stats.requestCount(cluster: cluster, responseCode: 503, flags: [.upstreamConnectionFailure, .upstreamRetryLimitExceeded]) == 1)
            // One try and Istio's two retries.
            #expect(stats.clusters[cluster]?.connectFailures == 3)
            #expect(stats.clusters[cluster]?.retries == 2)
        }
    }

    @Test func upstreamResetBeforeHeadersIs503UR() async throws {
        let server = try ResettingServer()
        defer { server.stop() }
        try await TestMesh.with(yaml: Self.deadService(port: server.port)) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: dead.example\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 503)
            #expect(response.bodyText == "upstream connect error or disconnect/reset before headers. reset reason: connection termination")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|\(server.port)||dead.example", responseCode: 503, flags: .upstreamRemoteReset) == 1)
            // Istio's default retry conditions do not include a reset: one try.
            #expect(server.connectionsAccepted == 1)
        }
    }

    @Test func routeWithRetriesDisabledFailsAfterOneTry() async throws {
        let refusing = try RefusingPort()
        let port = refusing.port
        defer { withExtendedLifetime(refusing) {} }
        try await TestMesh.with(yaml: Self.deadService(port: port, retries: "\n  retries: {attempts: 0}")) { mesh in
            let response = try await mesh.send(host: "dead.example")
            #expect(response.status == 503)
            #expect(response.body.hasPrefix("upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"))
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|\(port)||dead.example", responseCode: 503, flags: .upstreamConnectionFailure) == 1)
            #expect(stats.clusters["outbound|\(port)||dead.example"]?.connectFailures == 1)
        }
    }

    @Test func routeTimeoutShorterThanThePodsLatencyIs504UT() async throws {
        let yaml = TestMesh.service("slow", versions: ["v1": ["meshsim.dev/latency": "3s"]]) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: slow, namespace: default}
            spec:
              hosts: [slow]
              http:
              - name: bounded
                timeout: 200ms
                route: [{destination: {host: slow}}]
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: slow\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 504)
            #expect(response.bodyText == "upstream request timeout")
            #expect(response.header("x-meshsim-route") == "default/slow/bounded")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|9080||slow.default.svc.cluster.local", responseCode: 504, flags: .upstreamRequestTimeout) == 1)
        }
    }

    @Test func circuitBreakerOverflowIs503UOWithOverloadedHeader() async throws {
        let yaml = TestMesh.service("busy", versions: ["v1": ["meshsim.dev/latency": "60s"]]) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: busy, namespace: default}
            spec:
              host: busy
              trafficPolicy:
                connectionPool:
                  http: {http2MaxRequests: 1}
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let first = try RawConnection(port: mesh.port)
            try await first.send("GET / HTTP/1.1\r\nHost: busy\r\n\r\n")
            let cluster = "outbound|9080||busy.default.svc.cluster.local"
            // Wait (bounded) until the first request holds the cluster's only request slot.
            let busy = await TestMesh.waitUntil { await mesh.proxy.collectStats().clusters[cluster]?.activeRequests == 1 }
            #expect(busy)
            let second = try RawConnection(port: mesh.port)
            try await second.send("GET / HTTP/1.1\r\nHost: busy\r\n\r\n")
            let response = try await second.readResponse()
            #expect(response.status == 503)
            #expect(response.header("x-envoy-overloaded") == "true")
            #expect(response.bodyText == "upstream connect error or disconnect/reset before headers. reset reason: overflow")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: cluster, responseCode: 503, flags: .upstreamOverflow) == 1)
            #expect(stats.clusters[cluster]?.overflows == 1)
        }
    }

    @Test func pendingRequestsBeyondTheLimitOverflow() async throws {
        let yaml = TestMesh.service("narrow", versions: ["v1": ["meshsim.dev/latency": "60s"]]) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: narrow, namespace: default}
            spec:
              host: narrow
              trafficPolicy:
                connectionPool:
                  tcp: {maxConnections: 1}
                  http: {http1MaxPendingRequests: 1}
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let cluster = "outbound|9080||narrow.default.svc.cluster.local"
            let first = try RawConnection(port: mesh.port)
            try await first.send("GET / HTTP/1.1\r\nHost: narrow\r\n\r\n")
            #expect(await TestMesh.waitUntil {
                let c = await mesh.proxy.collectStats().clusters[cluster]
                return c?.activeRequests == 1 && c?.pendingRequests == 0 && c?.activeConnections == 1
            })
            // The second waits for the only connection; the third has no room to wait.
            let second = try RawConnection(port: mesh.port)
            try await second.send("GET / HTTP/1.1\r\nHost: narrow\r\n\r\n")
            #expect(await TestMesh.waitUntil { await mesh.proxy.collectStats().clusters[cluster]?.pendingRequests == 1 })
            let third = try RawConnection(port: mesh.port)
            try await third.send("GET / HTTP/1.1\r\nHost: narrow\r\n\r\n")
            let response = try await third.readResponse()
            #expect(response.status == 503)
            #expect(response.header("x-envoy-overloaded") == "true")
        }
    }

    @Test func faultAbortIsFIAndDelayIsDI() async throws {
        let yaml = TestMesh.service("faulty", versions: ["v1": [:]]) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: faulty, namespace: default}
            spec:
              hosts: [faulty]
              http:
              - name: aborted
                match: [{headers: {x-fault: {exact: abort}}}]
                fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
                route: [{destination: {host: faulty}}]
              - name: delayed
                match: [{headers: {x-fault: {exact: delay}}}]
                fault: {delay: {fixedDelay: 150ms, percentage: {value: 100}}}
                route: [{destination: {host: faulty}}]
              - name: never
                fault: {abort: {httpStatus: 500, percentage: {value: 0}}}
                route: [{destination: {host: faulty}}]
            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET / HTTP/1.1\r\nHost: faulty\r\nx-fault: abort\r\n\r\n")
            let aborted = try await connection.readResponse()
            #expect(aborted.status == 418)
            #expect(aborted.bodyText == "fault filter abort")
            try await connection.send("GET / HTTP/1.1\r\nHost: faulty\r\nx-fault: delay\r\n\r\n")
            let delayed = try await connection.readResponse()
            #expect(delayed.status == 200)
            // The upstream's time starts after the injected delay (Envoy's router gets the request
            // once the fault filter lets it go): the 150 ms are not in it.
            let serviceTime = delayed.header("x-envoy-upstream-service-time").flatMap { Int($0) }
            #expect((serviceTime ?? .max) < 150, "\(String(describing: serviceTime))")
            try await connection.send("GET / HTTP/1.1\r\nHost: faulty\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)

            let stats = await mesh.proxy.collectStats()
            let cluster = "outbound|9080||faulty.default.svc.cluster.local"
            #expect(stats.requestCount(cluster: cluster, responseCode: 418, flags: .faultInjected) == 1)
            #expect(stats.requestCount(cluster: cluster, responseCode: 200, flags: .delayInjected) == 1)
            #expect(stats.requestCount(cluster: cluster, responseCode: 200, flags: []) == 1)
            // The delayed request took at least its delay: it sits above the 100 ms bucket.
            let delayedStats = stats.requestStats(cluster: cluster, responseCode: 200, flags: .delayInjected)
            let bucketOf150ms = 7  // bounds ... 100, 250: the (100, 250] bucket
            #expect(delayedStats.durationBuckets[bucketOf150ms...].reduce(0, +) == 1)
        }
    }

    /// Istio ≥ 1.24's default policy names `retriable-status-codes` but lists no code: a 503 from
    /// the application goes back to the client as it is, untried elsewhere (pilot retry.go).
    @Test func applicationStatus503IsNotRetriedByDefault() async throws {
        let yaml = TestMesh.service("flaky", versions: ["v1": ["meshsim.dev/error-rate": "100%"]], replicas: 2)
        try await TestMesh.with(yaml: yaml) { mesh in
            let response = try await mesh.send(host: "flaky")
            #expect(response.status == 503)
            let stats = await mesh.proxy.collectStats()
            let cluster = "outbound|9080||flaky.default.svc.cluster.local"
            #expect(stats.clusters[cluster]?.retries == 0)
            #expect(stats.requestCount(cluster: cluster, responseCode: 503, flags: []) == 1)
            let served = mesh.fleet.stats.values.reduce(0) { $0 + $1.requestsServed }
            #expect(served == 1)
        }
    }

    @Test func statusNamedInRetryOnIsRetriedOnAnotherPodThenReturned() async throws {
        let yaml = TestMesh.service("flaky", versions: ["v1": ["meshsim.dev/error-rate": "100%"]], replicas: 2) + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: flaky, namespace: default}
            spec:
              hosts: [flaky]
              http:
              - route:
                - destination: {host: flaky}
                retries: {attempts: 2, retryOn: "connect-failure,refused-stream,503"}

            """
        try await TestMesh.with(yaml: yaml) { mesh in
            let response = try await mesh.send(host: "flaky")
            #expect(response.status == 503)
            let stats = await mesh.proxy.collectStats()
            let cluster = "outbound|9080||flaky.default.svc.cluster.local"
            // Two retries; the last answer is returned with URX.
            #expect(stats.clusters[cluster]?.retries == 2)
            #expect(stats.requestCount(cluster: cluster, responseCode: 503, flags: .upstreamRetryLimitExceeded) == 1)
            let served = mesh.fleet.stats.values.reduce(0) { $0 + $1.requestsServed }
            #expect(served == 3)
        }
    }
}
