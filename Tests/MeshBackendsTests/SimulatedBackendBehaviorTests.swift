import Foundation
import MeshBackends
import MeshTestSupport
import NIOPosix
import Testing

/// The behaviour profile at work on a live pod: injected errors, the concurrency limit, latency.
@Suite struct SimulatedBackendBehaviorTests {
    /// Sends `count` GETs over one keep-alive connection (pipelined in batches) and returns the
    /// statuses in order.
    static func statuses(port: Int, count: Int, batch: Int = 100) async throws -> [Int] {
        let client = try await RawHTTPClient.connect(port: port)
        var sent = 0
        while sent < count {
            let n = min(batch, count - sent)
            try await client.send(String(repeating: "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n", count: n))
            sent += n
            _ = try await client.responses(sent)
        }
        let responses = try await client.responses(count)
        await client.close()
        return responses.map(\.status)
    }

    /// The count of injected errors is binomial(n, rate): it must lie within five standard
    /// deviations of n·rate, and the same seed must give the very same sequence again.
    @Test func errorRateIsBinomialAndSeeded() async throws {
        let profile = try BehaviorProfile(annotations: ["meshsim.dev/error-rate": "20%", "meshsim.dev/error-code": "502"])
        let n = 2000
        let first = try await withBackend(profile: profile, seed: 99) { backend in
            let statuses = try await Self.statuses(port: backend.port, count: n)
            #expect(statuses.count == n)
            #expect(Set(statuses).isSubset(of: [200, 502]))
            let errors = statuses.filter { $0 == 502 }.count
            let mean = Double(n) * 0.2
            let sigma = (Double(n) * 0.2 * 0.8).squareRoot()
            #expect(abs(Double(errors) - mean) <= 5 * sigma, "\(errors) errors in \(n)")
            let stats = backend.stats
            #expect(stats.errorsInjected == errors)
            #expect(stats.requestsServed == n)
            #expect(stats.inFlight == 0)
            return statuses
        }
        let again = try await withBackend(profile: profile, seed: 99) { try await Self.statuses(port: $0.port, count: n) }
        #expect(again == first)
        let otherSeed = try await withBackend(profile: profile, seed: 100) { try await Self.statuses(port: $0.port, count: n) }
        #expect(otherSeed != first)
    }

    @Test func injectedErrorNamesItself() async throws {
        let profile = try BehaviorProfile(annotations: ["meshsim.dev/error-rate": "1"])
        try await withBackend(profile: profile) { backend in
            let output = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/"])
            let response = try #require(CurlResponse(output.stdout))
            #expect(response.status == 503)
            #expect(response.headers["x-meshsim-fault"] == "error-rate")
            #expect(response.headers["x-meshsim-pod"] == "reviews-v1-0")
        }
    }

    /// Eight concurrent requests on a pod that takes five at a time and holds each for seconds:
    /// exactly three are refused, at once, and the five finish normally.
    @Test func maxConcurrencyRejectsTheExcessAtOnce() async throws {
        let limit = 5, total = 8
        // The admitted requests are held long enough that all eight are sent and the excess
        // refused before any finishes, even on a loaded machine (5 s was seen to run out).
        let profile = BehaviorProfile(latency: .fixed(nanoseconds: 12_000_000_000), maxConcurrency: limit)
        try await withBackend(profile: profile) { backend in
            var clients: [RawHTTPClient] = []
            for _ in 0..<total { clients.append(try await RawHTTPClient.connect(port: backend.port)) }
            for client in clients { try await client.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n") }

            let settled = try await waitUntil {
                let stats = backend.stats
                return stats.rejectedOverConcurrency == total - limit && stats.inFlight == limit
            }
            #expect(settled, "\(backend.stats)")
            // The refused ones are answered while the admitted ones are still held.
            #expect(try await waitUntil { clients.filter { $0.receivedCount == 1 }.count == total - limit })
            #expect(backend.stats.inFlight == limit)
            var refused = 0
            for client in clients where client.receivedCount == 1 {
                let response = try #require(try await client.responses(1).first)
                #expect(response.status == 503)
                #expect(response.headers["x-meshsim-fault"] == "max-concurrency")
                refused += 1
            }
            #expect(refused == total - limit)

            // Then the admitted ones finish, and the pod takes new requests again.
            var statuses: [Int] = []
            for client in clients { statuses.append(contentsOf: try await client.responses(1).map(\.status)) }
            #expect(statuses.sorted() == Array(repeating: 200, count: limit) + Array(repeating: 503, count: total - limit))
            #expect(backend.stats.inFlight == 0)
            #expect(backend.stats.rejectedOverConcurrency == total - limit)
            for client in clients { await client.close() }
        }
    }

    @Test func fixedLatencyDelaysTheAnswer() async throws {
        try await withBackend(profile: BehaviorProfile(latency: .fixed(nanoseconds: 300_000_000))) { backend in
            let client = try await RawHTTPClient.connect(port: backend.port)
            let start = ContinuousClock.now
            try await client.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
            let responses = try await client.responses(1)
            #expect(responses.first?.status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            await client.close()
        }
    }

    /// Pipelined requests are served one after another, each with its own latency draw.
    @Test func pipelinedRequestsEachWaitTheirLatency() async throws {
        try await withBackend(profile: BehaviorProfile(latency: .fixed(nanoseconds: 100_000_000))) { backend in
            let client = try await RawHTTPClient.connect(port: backend.port)
            let start = ContinuousClock.now
            try await client.send(String(repeating: "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n", count: 5))
            let responses = try await client.responses(5)
            #expect(responses.count == 5)
            for (i, response) in responses.enumerated() {
                #expect(response.receivedAt - start >= .milliseconds(100 * (i + 1)), "response \(i)")
            }
            await client.close()
        }
    }

    @Test func wrkBurstIsServedAndCounted() async throws {
        try await withBackend { backend in
            let output = try await ChildProcess.run(
                "/usr/bin/wrk", ["-t1", "-c4", "-d1s", "http://127.0.0.1:\(backend.port)/"], timeout: .seconds(30))
            #expect(output.status == 0, "\(output.stderr)")
            #expect(!output.stdout.contains("Non-2xx"), "\(output.stdout)")
            #expect(!output.stdout.contains("Socket errors"), "\(output.stdout)")
            let match = output.stdout.firstMatch(of: /(\d+) requests in/)
            let completed = try #require(match.flatMap { Int($0.1) }, "\(output.stdout)")
            #expect(completed > 0)
            // wrk counts answers it read; the pod may have answered a few more as wrk stopped.
            #expect(backend.stats.requestsServed >= completed)
            #expect(backend.stats.errorsInjected == 0)
        }
    }
}
