import Foundation
import Testing

@testable import MeshLoad

/// Real runs against `DestinationServer` on 127.0.0.1:0; every run is bounded by --requests or a
/// short duration, and every server is stopped.
@Suite(.serialized, .timeLimit(.minutes(2))) struct EndToEndTests {
    static func configuration(
        _ server: DestinationServer, pacing: LoadConfiguration.Pacing = .closedLoop(concurrency: 4), requests: Int? = nil,
        duration: Duration? = nil, expect: String? = nil, exact: Bool = false, timeout: Duration = .seconds(5)
    ) throws -> LoadConfiguration {
        LoadConfiguration(
            target: try TargetURL(parsing: server.url), pacing: pacing, duration: duration, requestLimit: requests,
            threads: 2, requestTimeout: timeout, expected: try expect.map { try ExpectedShares(parsing: $0) }, exact: exact,
            reportInterval: .milliseconds(200))
    }

    @Test func exactCountsPass() async throws {
        let server = try await DestinationServer.start(.pattern(every: 20, rare: "v2", common: "v1"))
        let report = try await LoadRun.run(try Self.configuration(server, requests: 200, expect: "v1=95,v2=5", exact: true))
        await server.stop()
        #expect(report.requests == 200)
        #expect(report.completed == 200)
        #expect(report.errors.total == 0)
        #expect(server.requestCount == 200)
        let split = try #require(report.classes.first?.split)
        #expect(split.subsets.map(\.observedCount) == [190, 10])
        #expect(split.exactChecked)
        #expect(split.verdict == .pass)
        #expect(report.verdict == .pass)
        #expect(report.bySubset.map(\.key) == ["v1", "v2"])
        #expect(report.byStatus.map(\.key) == ["200"])
    }

    @Test func skewedSplitFails() async throws {
        let server = try await DestinationServer.start(.pattern(every: 20, rare: "v2", common: "v1"))
        let report = try await LoadRun.run(try Self.configuration(server, requests: 1000, expect: "v1=90,v2=10"))
        await server.stop()
        let split = try #require(report.classes.first?.split)
        #expect(split.subsets.map(\.observedCount) == [950, 50])
        #expect(try #require(split.pValue) < 0.01)
        #expect(report.verdict == .fail)
    }

    @Test func unexpectedSubsetFails() async throws {
        let server = try await DestinationServer.start(.pattern(every: 20, rare: "v2", common: "v1"))
        let report = try await LoadRun.run(try Self.configuration(server, requests: 100, expect: "v1=100"))
        await server.stop()
        #expect(report.verdict == .fail)
        #expect(report.classes.first?.split.notes.first == "v2 answered 5 requests but is expected to get none")
    }

    @Test func mixClassesAreCheckedSeparately() async throws {
        let server = try await DestinationServer.start(.userGroup(every: 20))
        var configuration = try Self.configuration(server, requests: 1000, exact: true)
        let mixPath = RequestMixTests.repositoryRoot.appendingPathComponent("scenarios/load-mix.yaml").path
        configuration.classes = try RequestMix.load(path: mixPath, defaults: RequestClass(path: "/reviews/0"))
        let report = try await LoadRun.run(configuration)
        await server.stop()
        #expect(report.classes.map(\.name) == ["beta", "plain"])
        #expect(report.classes.map(\.requests) == [100, 900])
        #expect(report.classes[0].split.subsets.map(\.observedCount) == [100])
        #expect(report.classes[1].split.subsets.map(\.observedCount) == [855, 45])
        #expect(report.classes.allSatisfy { $0.split.exactChecked && $0.split.verdict == .pass })
        #expect(report.verdict == .pass)
    }

    @Test func readsAnotherSubsetHeader() async throws {
        let server = try await DestinationServer.start(.pattern(every: 4, rare: "v2", common: "v1"), headerName: "x-meshsim-version")
        var configuration = try Self.configuration(server, requests: 40, expect: "v1=75,v2=25", exact: true)
        configuration.subsetHeader = "x-meshsim-version"
        let report = try await LoadRun.run(configuration)
        await server.stop()
        #expect(report.classes.first?.split.subsets.map(\.observedCount) == [30, 10])
        #expect(report.verdict == .pass)
    }

    @Test func answersWithoutDestinationAreCounted() async throws {
        let server = try await DestinationServer.start(.noDestination)
        let report = try await LoadRun.run(try Self.configuration(server, requests: 20, expect: "v1=100"))
        await server.stop()
        #expect(report.completed == 20)
        #expect(report.classes.first?.split.withoutDestination == 20)
        #expect(report.bySubset.map(\.key) == ["(none)"])
        #expect(report.verdict == .fail)
    }

    @Test func refusedConnectionIsAOneLineError() async throws {
        let port = try await DestinationServer.refusedPort()
        let configuration = LoadConfiguration(target: try TargetURL(parsing: "http://127.0.0.1:\(port)/"), requestLimit: 10)
        await #expect {
            _ = try await LoadRun.start(configuration)
        } throws: { error in
            let text = "\(error)"
            return error is LoadInputError && text.contains("cannot connect to 127.0.0.1:\(port)") && text.contains("refused") && !text.contains("\n")
        }
    }

    @Test func unresolvableHostIsAOneLineError() async throws {
        let configuration = LoadConfiguration(target: try TargetURL(parsing: "http://no-such-host.invalid/"), requestLimit: 1)
        await #expect {
            _ = try await LoadRun.start(configuration)
        } throws: { error in
            "\(error)".hasPrefix("cannot resolve host \"no-such-host.invalid\"")
        }
    }

    @Test func serverClosingMidResponseIsCountedNotFatal() async throws {
        let server = try await DestinationServer.start(.closeMidResponse)
        let report = try await LoadRun.run(try Self.configuration(server, pacing: .closedLoop(concurrency: 2), requests: 20))
        await server.stop()
        #expect(report.requests == 20)
        #expect(report.completed == 0)
        #expect(report.errors.closed == 20)
        #expect(report.errors.total == 20)
    }

    @Test func silentServerRunStillEnds() async throws {
        let server = try await DestinationServer.start(.silent)
        let report = try await LoadRun.run(
            try Self.configuration(server, pacing: .closedLoop(concurrency: 2), duration: .seconds(1), timeout: .milliseconds(300)))
        await server.stop()
        #expect(report.completed == 0)
        #expect(report.errors.timeout >= 2)
        #expect(report.errors.timeout == report.requests)
    }

    @Test func intervalsAddUpToTheReport() async throws {
        let server = try await DestinationServer.start(.pattern(every: 20, rare: "v2", common: "v1"))
        let run = try await LoadRun.start(try Self.configuration(server, pacing: .openLoop(requestsPerSecond: 200), duration: .seconds(1)))
        var intervals: [IntervalReport] = []
        for await interval in run.intervals { intervals.append(interval) }
        let report = await run.report
        await server.stop()
        #expect(intervals.count >= 2)
        #expect(intervals.map(\.index) == Array(0..<intervals.count))
        #expect(intervals.reduce(0) { $0 + $1.completed } == report.completed)
        #expect(intervals.last?.totalCompleted == report.completed)
        #expect(report.completed > 0)
        #expect(report.mode == "open-loop")
    }

    @Test func stopEndsAnOpenEndedRun() async throws {
        let server = try await DestinationServer.start(.pattern(every: 20, rare: "v2", common: "v1"))
        let run = try await LoadRun.start(try Self.configuration(server, pacing: .openLoop(requestsPerSecond: 100), duration: .seconds(600)))
        for await interval in run.intervals where interval.totalCompleted > 0 {
            run.stop()
            break
        }
        let report = await run.report
        await server.stop()
        #expect(report.durationSeconds < 600)
        #expect(report.completed > 0)
    }

    @Test func warmupRequestsAreNotCounted() async throws {
        let server = try await DestinationServer.start(.pattern(every: 20, rare: "v2", common: "v1"))
        var configuration = try Self.configuration(server, pacing: .openLoop(requestsPerSecond: 100), duration: .milliseconds(500))
        configuration.warmup = .milliseconds(500)
        let report = try await LoadRun.run(configuration)
        await server.stop()
        #expect(report.completed > 0)
        #expect(server.requestCount > report.requests)
        #expect(report.warmupSeconds == 0.5)
    }
}
