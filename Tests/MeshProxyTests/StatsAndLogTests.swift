import Foundation
import MeshProxy
import Testing

/// Counters, histograms and the access log after a known mix of requests.
@Suite struct StatsAndLogTests {
    @Test func statsCountAKnownMixByClusterCodeAndFlags() async throws {
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-access-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        try await TestMesh.with(
            files: [TestConfigs.path("broken-labels")],
            configuration: TestMesh.configuration(accessLog: .file(logPath))
        ) { mesh in
            let connection = try RawConnection(port: mesh.port)
            // 40 to reviews (exact 95/5: 38 to v1, 2 to v2 which has no pods), 3 with no route,
            // 2 to the pods' /status/500.
            for _ in 0..<40 {
                try await connection.send("GET / HTTP/1.1\r\nHost: reviews\r\nUser-Agent: stats-test\r\n\r\n")
                _ = try await connection.readResponse()
            }
            for _ in 0..<3 {
                try await connection.send("GET / HTTP/1.1\r\nHost: unknown\r\n\r\n")
                _ = try await connection.readResponse()
            }
            var fiveHundreds = 0
            for _ in 0..<2 {
                try await connection.send("GET /status/500 HTTP/1.1\r\nHost: reviews\r\n\r\n")
                if try await connection.readResponse().status == 500 { fiveHundreds += 1 }
            }
            let stats = await mesh.proxy.collectStats()
            let v1 = "outbound|9080|v1|reviews.default.svc.cluster.local"
            let v2 = "outbound|9080|v2|reviews.default.svc.cluster.local"
            #expect(stats.requestCount(cluster: v1, responseCode: 200, flags: []) == 38)
            #expect(stats.requestCount(cluster: v2, responseCode: 503, flags: .noHealthyUpstream) == 2)
            #expect(stats.requestCount(cluster: nil, responseCode: 404, flags: .noRouteFound) == 3)
            #expect(stats.requestCount(cluster: v1, responseCode: 500) == UInt64(fiveHundreds))
            #expect(stats.totalRequests == 45)
            for (key, value) in stats.requests {
                #expect(value.durationBuckets.reduce(0, +) == value.count, "histogram of \(key)")
                #expect(value.durationSumMilliseconds >= 0)
            }
            #expect(stats.downstream.connectionsAccepted == 1)
            #expect(stats.downstream.activeRequests == 0)
            #expect(stats.clusters[v1]?.activeRequests == 0)

            // Envoy's default access-log line, one per request (written within ~100 ms).
            let logged = await TestMesh.waitUntil {
                ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").count == 45
            }
            #expect(logged)
            let lines = ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n")
            let first = String(lines.first ?? "")
            // %REQ(X-FORWARDED-FOR)% is "-": the client sent none and the sidecar adds none.
            #expect(first.range(of: #"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET / HTTP/1\.1" (200|503) (-|UH) 0 \d+ \d+ (\d+|-) "-" "stats-test" "[0-9a-f-]{36}" "reviews" "(127\.0\.0\.1:\d+|-)"$"#, options: .regularExpression) != nil, "\(first)")
            #expect(lines.contains { $0.contains("\" 404 NR ") })
        }
    }
}
