import Foundation
import MeshBackends
import NIOCore
import NIOPosix
import Testing

@testable import MeshLoad

/// `load --http2` against a simulated h2c pod: streams multiplexed on few connections, the same
/// statistics as HTTP/1.1, and a timeout that cancels its stream only.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HTTP2LoadTests {
    static func withPod<T>(profile: BehaviorProfile = BehaviorProfile(), _ body: (SimulatedBackend) async throws -> T) async throws -> T {
        let pod = try await SimulatedBackend.start(
            identity: BackendIdentity(workload: "greeter-v2", version: "v2", pod: "greeter-v2-0"), profile: profile,
            group: MultiThreadedEventLoopGroup.singleton, seed: 3, servesHTTP2: true)
        do {
            let result = try await body(pod)
            try await pod.shutdown()
            return result
        } catch {
            try? await pod.shutdown()
            throw error
        }
    }

    static func configuration(
        port: Int, requests: Int, concurrency: Int, connections: Int, timeout: Duration = .seconds(5), grpc: Bool = false
    ) throws -> LoadConfiguration {
        LoadConfiguration(
            target: try TargetURL(parsing: "http://127.0.0.1:\(port)/helloworld.Greeter/SayHello"), pacing: .closedLoop(concurrency: concurrency),
            duration: nil, requestLimit: requests, connections: connections, threads: 2, requestTimeout: timeout,
            classes: [RequestClass(method: "GET", path: "/helloworld.Greeter/SayHello", bodyBytes: 5)], subsetHeader: "x-meshsim-version",
            expected: try ExpectedShares(parsing: "v2=100"), httpVersion: .http2, reportInterval: .milliseconds(200),
            streamsPerConnection: 10, grpc: grpc)
    }

    /// `load --grpc`: each call is a gRPC message POSTed to the pod, which answers gRPC; a call is
    /// counted by its grpc-status, so the pod's injected errors (UNAVAILABLE, in a trailers-only
    /// answer with HTTP 200) are errors of the run, listed as "grpc 14".
    @Test(arguments: [(0.0, 0), (1.0, 300)] as [(Double, Int)])
    func grpcCallsAreCountedByTheirStatus(errorRate: Double, failed: Int) async throws {
        try await Self.withPod(profile: BehaviorProfile(errorRate: errorRate)) { pod in
            let report = try await LoadRun.run(try Self.configuration(port: pod.port, requests: 300, concurrency: 10, connections: 1, grpc: true))
            #expect(report.completed == 300)
            #expect(report.errors.grpc == failed)
            #expect(report.errors.total == failed)
            #expect(report.byStatus.map(\.key) == [failed == 0 ? "grpc 0" : "grpc 14"])
            #expect(report.bySubset.map(\.key) == ["v2"])
            #expect(pod.stats.requestsServed == 300)
        }
    }

    @Test func grpcNeedsHTTP2() throws {
        var configuration = try Self.configuration(port: 1, requests: 1, concurrency: 1, connections: 1, grpc: true)
        configuration.httpVersion = .http1_1
        #expect(throws: LoadInputError.self) { try configuration.validate() }
    }

    @Test func streamsShareTwoConnections() async throws {
        try await Self.withPod { pod in
            let report = try await LoadRun.run(try Self.configuration(port: pod.port, requests: 2000, concurrency: 20, connections: 2))
            #expect(report.requests == 2000)
            #expect(report.completed == 2000)
            #expect(report.errors.total == 0)
            #expect(report.connections == 2)
            #expect(report.bySubset.map(\.key) == ["v2"])
            #expect(report.byStatus.map(\.key) == ["200"])
            #expect(report.verdict == .pass)
            #expect(pod.stats.requestsServed == 2000)
            // The reachability probe, then one connection per two lanes of ten streams: every lane
            // sends at least once, so both connections are opened. The pod counts a connection
            // on the loop it gives it, which may come after the answers of the others.
            #expect(await Self.waitUntil { pod.stats.connectionsAccepted >= 3 })
            #expect(pod.stats.connectionsAccepted == 3)
        }
    }

    /// A worker whose loop is busy when the run starts still sends its lanes' first requests:
    /// the lanes share one dispenser, and before every lane claimed its first request up front,
    /// the other loop's lanes took all 200 and the late worker never opened its connection.
    @Test func aWorkerThatStartsLateStillOpensItsConnection() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        do {
            try await Self.withPod { pod in
                let loops = Array(group.makeIterator())
                // The second loop is held until the first loop's lanes have taken the requests
                // meant for the second (never, when every lane claims one first) or 3 s pass.
                loops[1].execute {
                    let deadline = Date().addingTimeInterval(3)
                    while pod.stats.requestsServed <= 190 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
                }
                let configuration = try Self.configuration(port: pod.port, requests: 200, concurrency: 20, connections: 2)
                let (events, control) = AsyncStream.makeStream(of: LoadRun.ControlEvent.self)
                let (_, intervals) = AsyncStream.makeStream(of: IntervalReport.self)
                let coordinator = RunCoordinator(
                    configuration: configuration, address: try SocketAddress(ipAddress: "127.0.0.1", port: pod.port), loops: loops,
                    connectTimeout: .seconds(5), control: control, intervalSink: intervals)
                let report = await coordinator.run(events: events)
                #expect(report.completed == 200)
                #expect(report.errors.total == 0)
                // No reachability probe here: one connection per worker.
                #expect(await Self.waitUntil { pod.stats.connectionsAccepted >= 2 })
                #expect(pod.stats.connectionsAccepted == 2)
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    /// Polls `condition` every 10 ms until it holds or 10 s pass.
    static func waitUntil(_ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while !condition() && Date() < deadline { try? await Task.sleep(nanoseconds: 10_000_000) }
        return condition()
    }

    @Test func timeoutCancelsTheStreamNotTheConnection() async throws {
        try await Self.withPod(profile: BehaviorProfile(latency: .fixed(nanoseconds: 30_000_000_000))) { pod in
            let report = try await LoadRun.run(
                try Self.configuration(port: pod.port, requests: 4, concurrency: 4, connections: 1, timeout: .milliseconds(300)))
            #expect(report.completed == 0)
            #expect(report.errors.timeout == 4)
            // The pod saw the four streams cancelled (RST_STREAM), on the one connection.
            let deadline = Date().addingTimeInterval(10)
            while pod.stats.inFlight > 0 && Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
            #expect(pod.stats.inFlight == 0)
            #expect(await Self.waitUntil { pod.stats.connectionsAccepted >= 2 })
            #expect(pod.stats.connectionsAccepted == 2)
        }
    }
}
