import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import MeshHTTP2

/// HTTP2ClientConnection against nghttpd (an independent implementation) and the answer server.
@Suite(.serialized) struct ClientTests {
    static let page = (0..<100_000).map { UInt8($0 % 241) }

    static func get(_ path: String, authority: String = "localhost") -> HTTP2RequestHead {
        HTTP2RequestHead(method: "GET", authority: authority, path: path)
    }

    @Test func multiplexedRequestsToNghttpd() async throws {
        let nghttpd = try await Nghttpd.start(files: ["page.bin": Self.page])
        defer { nghttpd.stop() }
        try await withClient(port: nghttpd.port) { client in
            let responses = try await withThrowingTaskGroup(of: HTTP2Response.self) { group in
                for _ in 0..<40 { group.addTask { try await client.request(Self.get("/page.bin")) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(responses.count == 40)
            for response in responses {
                #expect(response.head.status == 200)
                #expect(Array(response.body.readableBytesView) == Self.page)
            }
            // nghttpd's SETTINGS (default 100) replaced the assumed value.
            #expect(try await client.onLoop { $0.maxConcurrentStreams } == 100)
            #expect(try await client.onLoop { $0.openStreamCount } == 0)
        }
    }

    @Test func honoursThePeersMaxConcurrentStreams() async throws {
        let nghttpd = try await Nghttpd.start(files: ["page.bin": Self.page], arguments: ["-m", "3"])
        defer { nghttpd.stop() }
        try await withClient(port: nghttpd.port) { client in
            // SETTINGS arrive with the first response.
            _ = try await client.request(Self.get("/page.bin"))
            let (limit, opened, refusal) = try await client.onLoop { connection -> (Int, Int, HTTP2CodecError?) in
                let delegate = RecordingStreamDelegate(events: client.events)
                var opened = 0
                do {
                    for _ in 0..<4 {
                        try connection.openStream(Self.get("/page.bin"), endStream: true, delegate: delegate)
                        opened += 1
                    }
                } catch let error as HTTP2CodecError {
                    return (connection.maxConcurrentStreams, opened, error)
                }
                return (connection.maxConcurrentStreams, opened, nil)
            }
            #expect(limit == 3)
            #expect(opened == 3)
            #expect(refusal == .streamLimitReached(3))
            // The three streams complete and capacity returns.
            #expect(await client.events.wait { $0.filter { if case .end = $0 { true } else { false } }.count == 3 })
            #expect(try await client.onLoop { $0.availableStreams } == 3)
        }
    }

    @Test func trailersFromNghttpd() async throws {
        let nghttpd = try await Nghttpd.start(
            files: ["page.bin": Self.page],
            arguments: ["--trailer", "x-served-by: nghttpd"]
        )
        defer { nghttpd.stop() }
        let response = try await withClient(port: nghttpd.port) { client in
            try await client.request(Self.get("/page.bin"))
        }
        #expect(response.body.readableBytes == Self.page.count)
        #expect(response.trailers?["x-served-by"] == ["nghttpd"])
    }

    /// Unconsumed body holds the server at the stream window (flow control follows the consumer);
    /// resetting that stream leaves the connection serving.
    @Test func unconsumedStreamStallsAtItsWindowAndResetFreesIt() async throws {
        let big = [UInt8](repeating: 7, count: 8 << 20)
        let nghttpd = try await Nghttpd.start(files: ["big.bin": big, "page.bin": Self.page])
        defer { nghttpd.stop() }
        try await withClient(port: nghttpd.port) { client in
            let stream = try await client.openRecordedStream(Self.get("/big.bin"), endStream: true, consume: false)
            let window = Int(HTTP2Configuration.default.initialStreamWindowSize)
            let received = { (events: [ClientEvents.Event]) in
                events.reduce(0) { total, event in
                    if case .body(stream, let bytes) = event { total + bytes } else { total }
                }
            }
            #expect(await client.events.wait { received($0) == window })
            // A full round trip on the same connection: nothing more arrived for the stalled stream.
            let between = try await client.request(Self.get("/page.bin"))
            #expect(Array(between.body.readableBytesView) == Self.page)
            #expect(received(client.events.all) == window)
            try await client.onLoop { try $0.resetStream(stream, code: .cancel) }
            #expect(
                await client.events.wait {
                    $0.contains(.reset(stream, HTTP2StreamReset(code: .cancel, origin: .local)))
                }
            )
            let after = try await client.request(Self.get("/page.bin"))
            #expect(Array(after.body.readableBytesView) == Self.page)
        }
    }

    @Test func bodiesAndTrailersBothWaysWithOurServer() async throws {
        try await withAnswerServer { server in
            try await withClient(port: server.port) { client in
                let responses = try await withThrowingTaskGroup(of: (Int, HTTP2Response).self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            let body = ByteBuffer(bytes: [UInt8](repeating: UInt8(index), count: 50_000 + index))
                            let response = try await client.request(
                                HTTP2RequestHead(method: "POST", authority: "localhost", path: "/echo"),
                                body: body,
                                trailers: ["x-index": String(index)]
                            )
                            return (index, response)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(responses.count == 20)
                for (index, response) in responses {
                    #expect(response.body.readableBytes == 50_000 + index)
                    #expect(response.body.readableBytesView.allSatisfy { $0 == UInt8(index) })
                    #expect(response.trailers?["echo-x-index"] == [String(index)])
                }
            }
        }
    }

    @Test func serverResetReachesTheClientWithItsCode() async throws {
        try await withAnswerServer { server in
            try await withClient(port: server.port) { client in
                await #expect(throws: HTTP2StreamReset(code: .refusedStream, origin: .remote)) {
                    try await client.request(Self.get("/reset?code=7"))
                }
                let after = try await client.request(Self.get("/"))
                #expect(after.head.status == 200)
            }
        }
    }

    @Test func clientResetReachesTheServerDelegate() async throws {
        try await withAnswerServer { server in
            try await withClient(port: server.port) { client in
                let stream = try await client.openRecordedStream(
                    HTTP2RequestHead(method: "POST", authority: "localhost", path: "/hold"),
                    endStream: false
                )
                try await client.onLoop { try $0.sendBody(ByteBuffer(string: "partial"), stream: stream) }
                try await client.onLoop { try $0.resetStream(stream, code: .cancel) }
                let deadline = ContinuousClock.now + .seconds(10)
                while server.observations.resets.isEmpty && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(server.observations.resets == [HTTP2StreamReset(code: .cancel, origin: .remote)])
            }
        }
    }

    @Test func idleStreamGets408AndTheConnectionKeepsServing() async throws {
        var configuration = HTTP2Configuration()
        configuration.streamIdleTimeout = .milliseconds(300)
        try await withAnswerServer(configuration: configuration) { server in
            try await withClient(port: server.port) { client in
                let stalled = try await client.openRecordedStream(
                    HTTP2RequestHead(method: "POST", authority: "localhost", path: "/hold"),
                    endStream: false
                )
                #expect(await client.events.wait { $0.contains(.head(stalled, status: 408, endStream: true)) })
                #expect(server.observations.resets == [HTTP2StreamReset(code: .cancel, origin: .idleTimeout)])
                #expect(try await client.request(Self.get("/")).head.status == 200)
            }
        }
    }

    @Test func gracefulShutdownFinishesInFlightStreams() async throws {
        try await withAnswerServer { server in
            try await withClient(port: server.port) { client in
                let inFlight = try await client.openRecordedStream(
                    HTTP2RequestHead(method: "POST", authority: "localhost", path: "/hold"),
                    endStream: false
                )
                let bye = try await client.request(Self.get("/goaway"))
                #expect(bye.head.status == 200)
                // First the notice (2^31-1), then, a PING round trip later, the real last stream id.
                #expect(
                    await client.events.wait { $0.contains(.goAway(lastStreamID: HTTP2StreamID(Int32.max), .noError)) }
                )
                #expect(await client.events.wait { $0.contains(.goAway(lastStreamID: HTTP2StreamID(3), .noError)) })
                #expect(try await client.onLoop { $0.isAcceptingStreams } == false)
                // The stream opened before the GOAWAY still completes.
                try await client.onLoop { try $0.sendEnd(stream: inFlight) }
                #expect(await client.events.wait { $0.contains(.end(inFlight, trailers: [])) })
                #expect(await client.events.wait { $0.contains(.closed) })
            }
        }
    }

    @Test func gracefulShutdownClosesAfterItsTimeoutWhenAStreamNeverFinishes() async throws {
        var configuration = HTTP2Configuration()
        configuration.gracefulShutdownTimeout = .milliseconds(300)
        try await withAnswerServer(configuration: configuration) { server in
            try await withClient(port: server.port) { client in
                let stuck = try await client.openRecordedStream(
                    HTTP2RequestHead(method: "POST", authority: "localhost", path: "/hold"),
                    endStream: false
                )
                _ = try await client.request(Self.get("/goaway"))
                #expect(await client.events.wait { $0.contains(.closed) })
                #expect(
                    client.events.all.contains(
                        .reset(stuck, HTTP2StreamReset(code: .cancel, origin: .connectionClosed))
                    )
                )
            }
        }
    }

    @Test func responseHeadersOverTheClientsLimitResetTheStream() async throws {
        var configuration = HTTP2Configuration()
        configuration.maxHeaderListSize = 64  // `:status` alone is 42; with content-type it is over.
        try await withAnswerServer { server in
            try await withClient(port: server.port, configuration: configuration) { client in
                await #expect(throws: HTTP2StreamReset(code: .internalError, origin: .local)) {
                    try await client.request(Self.get("/"))
                }
            }
        }
    }

    @Test func quiescingTheServerDrainsInFlightStreamsWithGoAway() async throws {
        try await withAnswerServer { server in
            try await withClient(port: server.port) { client in
                let inFlight = try await client.openRecordedStream(
                    HTTP2RequestHead(method: "POST", authority: "localhost", path: "/hold"),
                    endStream: false
                )
                // The server has seen the stream once a later request on the connection is answered.
                #expect(try await client.request(Self.get("/")).head.status == 200)
                try await server.quiesce()
                #expect(await client.events.wait { $0.contains(.goAway(lastStreamID: HTTP2StreamID(3), .noError)) })
                try await client.onLoop { try $0.sendEnd(stream: inFlight) }
                #expect(await client.events.wait { $0.contains(.end(inFlight, trailers: [])) })
                #expect(await client.events.wait { $0.contains(.closed) })
            }
        }
    }
}
