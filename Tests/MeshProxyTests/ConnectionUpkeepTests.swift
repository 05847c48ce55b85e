import Foundation
import MeshProxy
import MeshTestSupport
import Testing

/// The per-connection work the proxy keeps cheap on the request path: one lazily re-armed timer
/// for the header and idle timeouts, reading ahead while a request is served, and hop-by-hop
/// header removal without a lookup per header.
@Suite struct ConnectionUpkeepTests {
    static func configuration(headerTimeout: TimeAmountMilliseconds, idleTimeout: TimeAmountMilliseconds) -> ProxyConfiguration {
        var limits = ProxyConfiguration.Limits()
        limits.requestHeaderTimeout = .milliseconds(headerTimeout)
        limits.idleTimeout = .milliseconds(idleTimeout)
        return TestMesh.configuration(limits: limits)
    }

    typealias TimeAmountMilliseconds = Int64

    static let files = [TestConfigs.path("reviews"), TestConfigs.path("rollout/00-all-v1.yaml")]

    @Test func headerTimeoutStillAppliesToALaterRequestOnAKeptAliveConnection() async throws {
        try await TestMesh.with(files: Self.files, configuration: Self.configuration(headerTimeout: 300, idleTimeout: 60_000)) { mesh in
            let connection = try RawConnection(port: mesh.port, receiveTimeoutSeconds: 10)
            for _ in 0..<3 {
                try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
                #expect(try await connection.readResponse().status == 200)
            }
            // The fourth request's head never ends: 408 after the header timeout, then the close.
            try await connection.send("GET / HTTP/1.1\r\nHost: rev")
            let response = try await connection.readResponse()
            #expect(response.status == 408)
            #expect(await connection.waitForClose())
            #expect(await mesh.proxy.collectStats().downstream.headerTimeouts == 1)
        }
    }

    @Test func anIdleTimeoutShorterThanTheHeaderTimeoutClosesInTime() async throws {
        // Idle 1 s, header 60 s: the connection must go after about 1 s, well inside the client's
        // 10 s receive timeout, not after the longer header timeout. The idle timeout also runs
        // from the accept to the first byte; shorter (200 ms before), a loaded machine could let
        // it expire between this test's connect and its send.
        try await TestMesh.with(files: Self.files, configuration: Self.configuration(headerTimeout: 60_000, idleTimeout: 1_000)) { mesh in
            let connection = try RawConnection(port: mesh.port, receiveTimeoutSeconds: 10)
            try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)
            #expect(await connection.waitForClose())
            #expect(await mesh.proxy.collectStats().downstream.headerTimeouts == 0)
        }
    }

    /// Envoy's `stream_idle_timeout` for HTTP/1.1: a body that stops coming is answered 408
    /// "stream timeout" (flag SI) and the connection closed; a slow pod that sends nothing
    /// back is cut off the same way; a request that keeps moving bytes is left alone.
    @Test func aStalledRequestBodyIsAnswered408StreamTimeout() async throws {
        var limits = ProxyConfiguration.Limits()
        limits.streamIdleTimeout = .milliseconds(300)
        try await TestMesh.with(files: Self.files, configuration: TestMesh.configuration(limits: limits)) { mesh in
            let connection = try RawConnection(port: mesh.port, receiveTimeoutSeconds: 10)
            try await connection.send("PUT /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: 10\r\n\r\nabc")
            let response = try await connection.readResponse()
            #expect(response.status == 408)
            #expect(response.bodyText == "stream timeout")
            #expect(await connection.waitForClose())
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: "outbound|9080|v1|reviews.default.svc.cluster.local", responseCode: 408, flags: .streamIdleTimeout) == 1,
                    "\(stats.requests.keys)")
        }
    }

    @Test func aBodyTricklingInFasterThanTheStreamIdleTimeoutIsServed() async throws {
        var limits = ProxyConfiguration.Limits()
        limits.streamIdleTimeout = .seconds(2)
        try await TestMesh.with(files: Self.files, configuration: TestMesh.configuration(limits: limits)) { mesh in
            // curl uploads (chunked) what a shell writes every half second: 6 s in all, three
            // times the timeout (without activity counted, it would end after at most 4 s), never
            // quiet for it. Paced by a process of its own, not by this test's tasks, whose sleeps
            // stretch by seconds when the whole suite loads the machine.
            let command = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 0.5; printf x; done | "
                + "curl -s --max-time 60 -T - -H 'Host: reviews' -w ' %{http_code}' http://127.0.0.1:\(mesh.port)/echo"
            let result = try await ChildProcess.run("/bin/sh", ["-c", command], timeout: .seconds(90))
            #expect(result.stdout.hasSuffix(" 200"), "\(result)")
            #expect(result.stdout.contains("\"bodyBytes\":12"))
        }
    }

    @Test func aClientGoneMidRequestIsNoticedWhileTheRequestIsServed() async throws {
        // v1 answers after 10 s; the client closes before. The proxy reads on while it waits for
        // the upstream, so it sees the close and ends the request as DC, not as the 200 it would
        // record had it only noticed when writing the answer.
        let yaml = TestMesh.service("slow", versions: ["v1": ["meshsim.dev/latency": "10s"]])
        try await TestMesh.with(yaml: yaml) { mesh in
            var connection: RawConnection? = try RawConnection(port: mesh.port)
            try await connection?.send("GET / HTTP/1.1\r\nHost: slow\r\n\r\n")
            #expect(await TestMesh.waitUntil { await mesh.proxy.collectStats().downstream.activeRequests == 1 })
            connection = nil
            #expect(await TestMesh.waitUntil { await mesh.proxy.collectStats().downstream.activeRequests == 0 })
            let stats = await mesh.proxy.collectStats()
            let cluster = "outbound|9080||slow.default.svc.cluster.local"
            #expect(stats.requestCount(cluster: cluster, flags: .downstreamConnectionTermination) == 1)
            #expect(stats.requestCount(cluster: cluster, responseCode: 200) == 0)
        }
    }

    @Test func hopByHopAndEnvoyControlHeadersAreNotForwarded() async throws {
        try await TestMesh.with(files: Self.files) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send(
                "GET /echo HTTP/1.1\r\nHost: reviews\r\nConnection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\nKeep-Alive: timeout=5\r\n"
                    + "TE: trailers\r\nX-Envoy-Max-Retries: 0\r\nX-Kept: yes\r\nUpgrade: websocket\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            let echo = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            let headers = try #require(echo?["headers"] as? [String: String])
            #expect(headers["x-kept"] == "yes")
            #expect(headers["te"] == "trailers")
            for gone in ["x-drop-me", "keep-alive", "upgrade", "x-envoy-max-retries"] {
                #expect(headers[gone] == nil, "\(gone) was forwarded")
            }
            // The connection header the backend sees is its own hop's, not the client's list.
            #expect(headers["connection"]?.lowercased().contains("x-drop-me") != true)
        }
    }
}
