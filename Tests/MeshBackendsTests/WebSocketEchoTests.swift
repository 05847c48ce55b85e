@testable import MeshBackends
import MeshTestSupport
import NIOCore
import NIOPosix
import Testing

/// SHA-1 against FIPS 180's examples, and the accept value of RFC 6455's sample key.
@Suite struct SHA1Tests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test(arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        // 56 bytes: the padding takes a second block.
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ])
    func knownDigests(message: String, digest: String) {
        #expect(Self.hex(SHA1.hash(Array(message.utf8))) == digest)
    }

    @Test func millionAsSpanManyBlocks() {
        #expect(Self.hex(SHA1.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func acceptValueOfTheRFCSampleKey() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}

/// A simulated pod's WebSocket upgrade and echo over real sockets, with a client that writes and
/// parses frames itself.
@Suite struct WebSocketEchoTests {
    /// Sends the handshake and returns the head of the pod's answer.
    static func upgrade(_ client: WebSocketTestClient, path: String = "/") async throws -> String {
        try await client.send(WebSocketTestClient.handshake(path: path))
        return try #require(try await client.readHead(), "no answer to the handshake")
    }

    @Test func handshakeThenEchoPingLargeFramesAndClose() async throws {
        try await withBackend(pod: "chat-v2-0", workload: "chat-v2", version: "v2") { backend in
            let client = try await WebSocketTestClient.connect(port: backend.port)
            let head = try await Self.upgrade(client)
            #expect(head == """
                HTTP/1.1 101 Switching Protocols\r
                upgrade: websocket\r
                connection: upgrade\r
                sec-websocket-accept: \(WebSocketTestClient.sampleAccept)\r
                x-meshsim-workload: chat-v2\r
                x-meshsim-version: v2\r
                x-meshsim-pod: chat-v2-0
                """)

            try await client.send(TestFrame(text: "hello"))
            let hello = try #require(try await client.readFrame())
            #expect(hello.opcode == TestFrame.text && hello.fin && !hello.masked && hello.lengthIndicator == 5)
            #expect(hello.payload == Array("hello".utf8))

            try await client.send(TestFrame(opcode: TestFrame.ping, payload: Array("are you there".utf8)))
            let pong = try #require(try await client.readFrame())
            #expect(pong.opcode == TestFrame.pong && pong.fin && !pong.masked)
            #expect(pong.payload == Array("are you there".utf8))

            // 200 bytes take the 16-bit length form, 70,000 the 64-bit one.
            for (size, indicator) in [(200, 126), (70_000, 127)] as [(Int, UInt8)] {
                let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
                try await client.send(TestFrame(opcode: TestFrame.binary, payload: payload))
                let echo = try #require(try await client.readFrame(), "no echo of \(size) bytes")
                #expect(echo.opcode == TestFrame.binary && echo.fin && !echo.masked)
                #expect(echo.lengthIndicator == indicator, "length form for \(size) bytes")
                #expect(echo.payload == payload, "payload of \(size) bytes")
            }

            try await client.send(TestFrame(closeCode: 1000))
            let close = try #require(try await client.readFrame())
            #expect(close.opcode == TestFrame.close && close.closeCode == 1000 && !close.masked)
            #expect(try await client.waitForEOF(), "the pod kept the connection after the closing handshake")

            // The 101 is the one request: served, no longer in flight.
            let stats = backend.stats
            #expect(stats.requestsServed == 1)
            #expect(stats.webSocketUpgrades == 1)
            #expect(stats.inFlight == 0)
            await client.close()

            // The pod still answers plain HTTP on a new connection.
            let http = try await RawHTTPClient.connect(port: backend.port)
            try await http.send("GET / HTTP/1.1\r\nHost: chat\r\n\r\n")
            let answer = try #require(try await http.responses(1).first)
            #expect(answer.status == 200)
            #expect(answer.headers["x-meshsim-pod"] == "chat-v2-0")
            await http.close()
            #expect(backend.stats.requestsServed == 2)
            #expect(backend.stats.webSocketUpgrades == 1)
        }
    }

    /// Frames the client sends in the same write as its handshake were read by the HTTP decoder
    /// before the upgrade; they must still reach the echo: whether the 101 goes out at once or
    /// after the pod's latency (bytes keep arriving meanwhile), behind a pipelined request, and
    /// on a pod that also sniffs for h2c.
    @Test(arguments: [
        (latencyMilliseconds: 0, pipelined: false, servesHTTP2: false),
        (latencyMilliseconds: 50, pipelined: false, servesHTTP2: false),
        (latencyMilliseconds: 0, pipelined: true, servesHTTP2: false),
        (latencyMilliseconds: 0, pipelined: false, servesHTTP2: true),
    ])
    func framesInTheHandshakeWriteAreEchoed(latencyMilliseconds: Int, pipelined: Bool, servesHTTP2: Bool) async throws {
        let profile = BehaviorProfile(latency: latencyMilliseconds == 0 ? .none : .fixed(nanoseconds: Int64(latencyMilliseconds) * 1_000_000))
        try await withBackend(profile: profile, servesHTTP2: servesHTTP2) { backend in
            let client = try await WebSocketTestClient.connect(port: backend.port)
            let first = TestFrame(text: "sent with the handshake")
            let second = TestFrame(opcode: TestFrame.binary, payload: Array(repeating: 0xAB, count: 300))
            // A 204 has no body, so the next bytes are the 101's head.
            let before = pipelined ? "GET /status/204 HTTP/1.1\r\nHost: reviews\r\n\r\n" : ""
            try await client.send(Array((before + WebSocketTestClient.handshake()).utf8) + first.encoded() + second.encoded())
            if pipelined {
                let noContent = try #require(try await client.readHead())
                #expect(noContent.hasPrefix("HTTP/1.1 204 No Content\r\n") && noContent.hasSuffix("connection: keep-alive"))
            }
            let head = try #require(try await client.readHead())
            #expect(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
            let echoes = [try await client.readFrame(), try await client.readFrame()]
            #expect(echoes.map { $0?.payload } == [first.payload, second.payload])
            #expect(echoes.map { $0?.opcode } == [TestFrame.text, TestFrame.binary])
            await client.close()
            #expect(backend.stats.webSocketUpgrades == 1)
            #expect(backend.stats.requestsServed == (pipelined ? 2 : 1))
        }
    }

    /// An upgrade to anything else (here h2c) is ignored, as RFC 9110 §7.8 allows; since NIO's
    /// decoder reads nothing after it, the answer closes the connection rather than leaving a
    /// pipelined request unanswered forever.
    @Test func otherUpgradesAreAnsweredAndClose() async throws {
        try await withBackend { backend in
            let client = try await RawHTTPClient.connect(port: backend.port)
            try await client.send(
                "GET / HTTP/1.1\r\nHost: reviews\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
                    + "GET /status/201 HTTP/1.1\r\nHost: reviews\r\n\r\n")
            let responses = try await client.responses(2)
            #expect(responses.map(\.status) == [200])
            #expect(responses.first?.headers["connection"] == "close")
            #expect(try await client.waitForClose())
            await client.close()
        }
    }

    /// Fragments come back one by one with their opcode and fin; a ping between fragments is
    /// answered in place (RFC 6455 §5.4 allows control frames inside a fragmented message).
    @Test func fragmentsAreEchoedAsTheyCome() async throws {
        try await withBackend { backend in
            let client = try await WebSocketTestClient.connect(port: backend.port)
            _ = try await Self.upgrade(client)
            let sent = [
                TestFrame(fin: false, opcode: TestFrame.text, payload: Array("frag".utf8)),
                TestFrame(fin: false, opcode: TestFrame.continuation, payload: Array("men".utf8)),
                TestFrame(opcode: TestFrame.ping, payload: [1, 2, 3]),
                TestFrame(fin: true, opcode: TestFrame.continuation, payload: Array("ted".utf8)),
            ]
            try await client.send(sent.flatMap { $0.encoded() })
            var received: [TestFrame] = []
            for _ in sent { received.append(try #require(try await client.readFrame())) }
            #expect(received.map(\.fin) == [false, false, true, true])
            #expect(received.map(\.opcode) == [TestFrame.text, TestFrame.continuation, TestFrame.pong, TestFrame.continuation])
            #expect(received.map(\.payload) == sent.map(\.payload))
            #expect(received.allSatisfy { !$0.masked })
            await client.close()
        }
    }

    /// RFC 6455 §5.1: a server closes with 1002 on an unmasked client frame. The pod goes on
    /// answering HTTP on other connections.
    @Test func unmaskedFrameIsAProtocolError() async throws {
        try await withBackend { backend in
            let client = try await WebSocketTestClient.connect(port: backend.port)
            _ = try await Self.upgrade(client)
            try await client.send(TestFrame(text: "not masked").encoded(mask: nil))
            let close = try #require(try await client.readFrame())
            #expect(close.opcode == TestFrame.close && close.closeCode == 1002)
            #expect(try await client.waitForEOF())
            await client.close()

            let http = try await RawHTTPClient.connect(port: backend.port)
            try await http.send("GET /status/201 HTTP/1.1\r\nHost: reviews\r\n\r\n")
            #expect(try await http.responses(1).first?.status == 201)
            await http.close()
        }
    }

    @Test func frameOverOneMebibyteIsClosedTooBig() async throws {
        try await withBackend { backend in
            let client = try await WebSocketTestClient.connect(port: backend.port)
            _ = try await Self.upgrade(client)
            // The header alone announces 2 MiB: the pod refuses before any payload comes.
            let length = UInt64(2 << 20)
            var header: [UInt8] = [0x82, 0x80 | 127]
            header += (0..<8).reversed().map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
            header += [1, 2, 3, 4]
            try await client.send(header)
            let close = try #require(try await client.readFrame())
            #expect(close.closeCode == 1009)
            #expect(try await client.waitForEOF())
            await client.close()
        }
    }

    @Test func closeCodeIsEchoedAndAnInvalidOneIsAProtocolError() async throws {
        try await withBackend { backend in
            for (sent, answered) in [(UInt16(4321), UInt16(4321)), (1001, 1001), (1005, 1002), (999, 1002)] {
                let client = try await WebSocketTestClient.connect(port: backend.port)
                _ = try await Self.upgrade(client)
                try await client.send(TestFrame(closeCode: sent))
                let close = try #require(try await client.readFrame(), "no close after \(sent)")
                #expect(close.closeCode == answered, "close \(sent)")
                #expect(try await client.waitForEOF())
                await client.close()
            }
        }
    }

    /// RFC 6455 §4.2.2: an unsupported version gets 426 naming 13; a handshake missing its key
    /// or version, or not a GET, gets 400. Each closes its connection (NIO's decoder reads no
    /// request past an upgrade).
    @Test func badHandshakesAreRefused() async throws {
        try await withBackend { backend in
            let cases: [(request: String, status: Int)] = [
                (WebSocketTestClient.handshake(version: "8"), 426),
                (WebSocketTestClient.handshake(key: nil), 400),
                (WebSocketTestClient.handshake(key: "dG9vIHNob3J0"), 400),
                (WebSocketTestClient.handshake(version: nil), 400),
                (WebSocketTestClient.handshake(method: "POST", extra: "Content-Length: 0\r\n"), 400),
            ]
            for (request, status) in cases {
                let client = try await RawHTTPClient.connect(port: backend.port)
                try await client.send(request)
                let response = try #require(try await client.responses(1).first, "no answer to \(request)")
                #expect(response.status == status, "\(request)")
                #expect(response.headers["x-meshsim-pod"] == "reviews-v1-0")
                #expect(response.headers["connection"] == "close")
                #expect(response.headers["sec-websocket-version"] == (status == 426 ? "13" : nil))
                #expect(response.headers["sec-websocket-accept"] == nil)
                #expect(try await client.waitForClose(), "connection left open after \(status)")
                await client.close()
            }
            #expect(backend.stats.requestsServed == cases.count)
            #expect(backend.stats.webSocketUpgrades == 0)
        }
    }

    /// The pod's behaviour decides first: a path answering a non-2xx, an injected error or a
    /// max-concurrency rejection is answered as usual, with no upgrade.
    @Test func behaviourAnswersBeforeTheUpgrade() async throws {
        try await withBackend { backend in
            let client = try await WebSocketTestClient.connect(port: backend.port)
            let head = try await Self.upgrade(client, path: "/status/404")
            #expect(head.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
            #expect(head.hasSuffix("\r\nconnection: close"))
            await client.close()
            let upgraded = try await WebSocketTestClient.connect(port: backend.port)
            #expect(try await Self.upgrade(upgraded, path: "/status/204").hasPrefix("HTTP/1.1 101 "))
            await upgraded.close()
        }
        try await withBackend(profile: BehaviorProfile(errorRate: 1, errorCode: 500)) { backend in
            let client = try await WebSocketTestClient.connect(port: backend.port)
            let head = try await Self.upgrade(client)
            #expect(head.hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
            #expect(head.contains("x-meshsim-fault: error-rate\r\n"))
            await client.close()
            #expect(backend.stats.errorsInjected == 1)
        }
        let slow = BehaviorProfile(latency: .fixed(nanoseconds: 30_000_000_000), maxConcurrency: 1)
        try await withBackend(profile: slow) { backend in
            // One plain request holds the only slot (its answer would take 30 s; the pod's
            // shutdown ends it).
            let holder = try await RawHTTPClient.connect(port: backend.port)
            try await holder.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
            #expect(try await waitUntil { backend.stats.inFlight == 1 })
            let client = try await WebSocketTestClient.connect(port: backend.port)
            let head = try await Self.upgrade(client)
            #expect(head.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
            #expect(head.contains("x-meshsim-fault: max-concurrency\r\n"))
            #expect(backend.stats.webSocketUpgrades == 0)
            await client.close()
            await holder.close()
        }
    }

    /// A pod stopping with a grace period tells its WebSocket clients it is going away (1001).
    @Test func drainingPodClosesSessionsGoingAway() async throws {
        let backend = try await SimulatedBackend.start(
            identity: BackendIdentity(workload: "chat-v1", version: "v1", pod: "chat-v1-0"), profile: BehaviorProfile(),
            group: MultiThreadedEventLoopGroup.singleton, seed: 1)
        do {
            let client = try await WebSocketTestClient.connect(port: backend.port)
            _ = try await Self.upgrade(client)
            try await client.send(TestFrame(text: "still here"))
            #expect(try await client.readFrame()?.payload == Array("still here".utf8))
            try await backend.shutdown(drainingFor: .seconds(20))
            let close = try #require(try await client.readFrame())
            #expect(close.closeCode == 1001)
            #expect(try await client.waitForEOF())
            await client.close()
        } catch {
            try? await backend.shutdown()
            throw error
        }
    }
}
