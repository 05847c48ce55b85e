import Foundation
import MeshBackends
import NIOPosix
import Testing

/// The HTTP/1.1 surface of one simulated pod, driven by curl and by a raw client.
@Suite struct SimulatedBackendHTTPTests {
    @Test func greetingCarriesTheIdentity() async throws {
        try await withBackend(pod: "reviews-v2-1", workload: "reviews-v2", version: "v2") { backend in
            let output = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/reviews/1"])
            #expect(output.status == 0, "\(output.stderr)")
            let response = try #require(CurlResponse(output.stdout))
            #expect(response.status == 200)
            #expect(response.headers["x-meshsim-workload"] == "reviews-v2")
            #expect(response.headers["x-meshsim-version"] == "v2")
            #expect(response.headers["x-meshsim-pod"] == "reviews-v2-1")
            #expect(response.headers["content-length"] == String(response.body.utf8.count))
            #expect(response.body == "workload=reviews-v2 version=v2 pod=reviews-v2-1 namespace=default\n")
            #expect(backend.stats.requestsServed == 1)
        }
    }

    @Test func bodyBytesSetsTheBodySize() async throws {
        try await withBackend(profile: BehaviorProfile(bodyBytes: 10_000)) { backend in
            let output = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/"])
            let response = try #require(CurlResponse(output.stdout))
            #expect(response.headers["content-length"] == "10000")
            #expect(response.body.utf8.count == 10_000)
            #expect(response.body.hasPrefix("workload=reviews-v1 version=v1 pod=reviews-v1-0"))
        }
    }

    @Test func headAnswersTheHeadOfGet() async throws {
        try await withBackend(profile: BehaviorProfile(bodyBytes: 321)) { backend in
            let output = try await curl(["-I", "http://127.0.0.1:\(backend.port)/"])
            let response = try #require(CurlResponse(output.stdout))
            #expect(response.status == 200)
            #expect(response.headers["content-length"] == "321")
            #expect(response.body.isEmpty)
        }
    }

    @Test func echoDescribesTheRequest() async throws {
        try await withBackend { backend in
            let output = try await curl([
                "-X", "PUT", "-H", "X-User-Group: beta", "-H", "X-Multi: a", "-H", "X-Multi: b", "--data-binary", "hello",
                "http://127.0.0.1:\(backend.port)/echo?q=1",
            ])
            #expect(output.status == 0, "\(output.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
            #expect(json["method"] as? String == "PUT")
            #expect(json["path"] as? String == "/echo?q=1")
            #expect(json["bodyBytes"] as? Int == 5)
            #expect(json["pod"] as? String == "reviews-v1-0")
            #expect(json["version"] as? String == "v1")
            let headers = try #require(json["headers"] as? [String: String])
            #expect(headers["x-user-group"] == "beta")
            #expect(headers["x-multi"] == "a, b")
            #expect(headers["host"] == "127.0.0.1:\(backend.port)")
        }
    }

    @Test(arguments: [200, 201, 404, 418, 500, 503])
    func statusPathAnswersThatStatus(code: Int) async throws {
        try await withBackend { backend in
            let output = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/status/\(code)"])
            let response = try #require(CurlResponse(output.stdout))
            #expect(response.status == code)
            #expect(response.headers["x-meshsim-pod"] == "reviews-v1-0")
        }
    }

    @Test func noContentHasNoBodyAndBadStatusIs400() async throws {
        try await withBackend { backend in
            let noContent = try #require(CurlResponse(try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/status/204"]).stdout))
            #expect(noContent.status == 204)
            #expect(noContent.headers["content-length"] == nil)
            #expect(noContent.body.isEmpty)
            for bad in ["42", "600", "abc", "2000"] {
                let response = try #require(CurlResponse(try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/status/\(bad)"]).stdout))
                #expect(response.status == 400, "/status/\(bad)")
            }
        }
    }

    @Test func expectContinueUploadIsCounted() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-continue-\(UUID().uuidString)")
        try Data(repeating: 0x61, count: 300_000).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try await withBackend { backend in
            let output = try await curl([
                "-v", "-H", "Expect: 100-continue", "--expect100-timeout", "20", "--data-binary", "@\(file.path)",
                "http://127.0.0.1:\(backend.port)/echo",
            ])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stderr.contains("HTTP/1.1 100 Continue"))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
            #expect(json["bodyBytes"] as? Int == 300_000)
            #expect(backend.stats.requestBodyBytes == 300_000)
        }
    }

    @Test func chunkedUploadIsCounted() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-chunked-\(UUID().uuidString)")
        try Data(repeating: 0x62, count: 123_457).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try await withBackend { backend in
            let output = try await curl([
                "-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file.path)", "http://127.0.0.1:\(backend.port)/echo",
            ])
            #expect(output.status == 0, "\(output.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
            #expect(json["bodyBytes"] as? Int == 123_457)
            let headers = try #require(json["headers"] as? [String: String])
            #expect(headers["transfer-encoding"] == "chunked")
        }
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() async throws {
        try await withBackend { backend in
            let client = try await RawHTTPClient.connect(port: backend.port)
            for i in 1...5 {
                try await client.send("GET /\(i) HTTP/1.1\r\nHost: reviews\r\n\r\n")
                let responses = try await client.responses(i)
                #expect(responses.count == i)
            }
            let responses = try await client.responses(5)
            #expect(responses.allSatisfy { $0.status == 200 && $0.headers["connection"] == "keep-alive" })
            #expect(!client.isClosed)
            #expect(backend.stats.connectionsAccepted == 1)
            #expect(backend.stats.requestsServed == 5)
            await client.close()
        }
    }

    /// More pipelined requests than the handler queues before pausing reads, on a pod whose
    /// random latency would reorder them if they were answered as they finished.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let profile = try BehaviorProfile(annotations: ["meshsim.dev/latency": "p50=1ms,p99=8ms"])
        try await withBackend(profile: profile) { backend in
            let client = try await RawHTTPClient.connect(port: backend.port)
            let codes = (0..<40).map { 200 + $0 % 7 }
            var batch = ""
            for (i, code) in codes.enumerated() {
                if i % 5 == 0 {
                    batch += "POST /echo HTTP/1.1\r\nHost: reviews\r\nContent-Length: \(i)\r\n\r\n" + String(repeating: "x", count: i)
                } else {
                    batch += "GET /status/\(code) HTTP/1.1\r\nHost: reviews\r\n\r\n"
                }
            }
            try await client.send(batch)
            // A second batch arrives while the first is still queued (reading may be paused).
            try await client.send(String(repeating: "GET /status/299 HTTP/1.1\r\nHost: reviews\r\n\r\n", count: 30))
            let all = try await client.responses(codes.count + 30)
            #expect(all.count == codes.count + 30)
            #expect(all.dropFirst(codes.count).allSatisfy { $0.status == 299 })
            let responses = Array(all.prefix(codes.count))
            for (i, response) in responses.enumerated() {
                if i % 5 == 0 {
                    #expect(response.status == 200)
                    #expect(response.body.contains("\"bodyBytes\":\(i),"), "response \(i): \(response.body)")
                } else {
                    #expect(response.status == codes[i], "response \(i)")
                }
            }
            #expect(backend.stats.requestsServed == codes.count + 30)
            await client.close()
        }
    }

    @Test func halfClosedClientGetsEveryAnswerThenTheClose() async throws {
        try await withBackend(profile: BehaviorProfile(latency: .fixed(nanoseconds: 50_000_000))) { backend in
            let client = try await RawHTTPClient.connect(port: backend.port)
            try await client.send("GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\nGET /status/202 HTTP/1.1\r\nHost: a\r\n\r\n")
            try await client.shutdownOutput()
            let responses = try await client.responses(2)
            #expect(responses.map(\.status) == [201, 202])
            #expect(try await client.waitForClose())
            #expect(backend.stats.requestsServed == 2)
        }
    }

    @Test func connectionCloseAndHTTP10AreHonoured() async throws {
        try await withBackend { backend in
            let closing = try await RawHTTPClient.connect(port: backend.port)
            try await closing.send("GET / HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n")
            let answer = try await closing.responses(1)
            #expect(answer.first?.headers["connection"] == "close")
            #expect(try await closing.waitForClose())

            let old = try await RawHTTPClient.connect(port: backend.port)
            try await old.send("GET / HTTP/1.0\r\n\r\n")
            #expect(try await old.responses(1).first?.status == 200)
            #expect(try await old.waitForClose())
        }
    }

    @Test func malformedRequestGets400AndTheServerCarriesOn() async throws {
        try await withBackend { backend in
            let client = try await RawHTTPClient.connect(port: backend.port)
            // A good request, then garbage: the good one is answered, then 400, then close.
            try await client.send("GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\nNOT HTTP AT ALL\r\n\u{1}\u{2}\r\n\r\n")
            let responses = try await client.responses(2)
            #expect(responses.map(\.status) == [201, 400])
            #expect(try await client.waitForClose())
            #expect(backend.stats.malformedRequests == 1)

            let badLength = try await RawHTTPClient.connect(port: backend.port)
            try await badLength.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: banana\r\n\r\n")
            #expect(try await badLength.responses(1).map(\.status) == [400])
            #expect(try await badLength.waitForClose())

            let after = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/"])
            #expect(CurlResponse(after.stdout)?.status == 200)
        }
    }

    @Test(arguments: [
        ("\u{0}\u{1}\u{2}\u{3} binary junk\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true),
        ("GET / HTTP/9.9\r\nHost: a\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n", true),
        // The server may close while the client is still sending, so the 400 can be lost to a reset.
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "x", count: 100_000) + "\r\n\r\n", false),
    ])
    func hostileInputGets400AndClose(input: String, answerIsCertain: Bool) async throws {
        try await withBackend { backend in
            let client = try await RawHTTPClient.connect(port: backend.port)
            try await client.send(input)
            #expect(try await client.waitForClose())
            if answerIsCertain || client.receivedCount > 0 {
                #expect(try await client.responses(1).map(\.status) == [400])
            }
            #expect(backend.stats.malformedRequests == 1)
            #expect(backend.stats.inFlight == 0)
            let after = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/"])
            #expect(CurlResponse(after.stdout)?.status == 200)
        }
    }

    @Test func shutdownClosesOpenConnectionsAndStopsListening() async throws {
        let backend = try await SimulatedBackend.start(
            identity: BackendIdentity(workload: "w", version: "v1", pod: "w-0"), profile: BehaviorProfile(),
            group: MultiThreadedEventLoopGroup.singleton, seed: 1)
        let client = try await RawHTTPClient.connect(port: backend.port)
        try await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await client.responses(1).count == 1)
        try await backend.shutdown()
        #expect(try await client.waitForClose())
        // Nothing of this pod answers. (Another test's listener may have been given the freed
        // port by then, so a connection alone proves nothing.)
        let refused = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/"], timeout: 5)
        #expect(refused.status != 0 || CurlResponse(refused.stdout)?.headers["x-meshsim-pod"] != "w-0")
        try await backend.shutdown()  // idempotent
    }

    @Test func drainingShutdownAnswersTheRequestInProgress() async throws {
        let backend = try await SimulatedBackend.start(
            identity: BackendIdentity(workload: "w", version: "v1", pod: "w-0"),
            // Long enough that a busy 2-core machine still sees the request in flight before shutdown.
            profile: BehaviorProfile(latency: .fixed(nanoseconds: 3_000_000_000)), group: MultiThreadedEventLoopGroup.singleton,
            seed: 1)
        let busy = try await RawHTTPClient.connect(port: backend.port)
        let idle = try await RawHTTPClient.connect(port: backend.port)
        try await busy.send("GET /status/202 HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await waitUntil { backend.stats.inFlight == 1 && backend.stats.connectionsAccepted == 2 })

        try await backend.shutdown(drainingFor: .seconds(30))
        let answer = try await busy.responses(1)
        #expect(answer.first?.status == 202)
        #expect(answer.first?.headers["connection"] == "close")
        #expect(try await busy.waitForClose())
        #expect(try await idle.waitForClose())
        #expect(backend.stats.requestsServed == 1)
        // Nothing of this pod answers. (Another test's listener may have been given the freed
        // port by then, so a connection alone proves nothing.)
        let refused = try await curl(["-D", "-", "http://127.0.0.1:\(backend.port)/"], timeout: 5)
        #expect(refused.status != 0 || CurlResponse(refused.stdout)?.headers["x-meshsim-pod"] != "w-0")
        try await backend.shutdown()
    }

    @Test func drainingGivesUpAfterTheGracePeriod() async throws {
        let backend = try await SimulatedBackend.start(
            identity: BackendIdentity(workload: "w", version: "v1", pod: "w-0"),
            profile: BehaviorProfile(latency: .fixed(nanoseconds: 60_000_000_000)), group: MultiThreadedEventLoopGroup.singleton,
            seed: 1)
        let stuck = try await RawHTTPClient.connect(port: backend.port)
        try await stuck.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await waitUntil { backend.stats.inFlight == 1 })
        try await backend.shutdown(drainingFor: .milliseconds(200))
        #expect(try await stuck.waitForClose())
        #expect(stuck.receivedCount == 0)
        #expect(try await waitUntil { backend.stats.inFlight == 0 })
        #expect(backend.stats.requestsServed == 0)
    }
}
