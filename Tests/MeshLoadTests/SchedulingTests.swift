import Foundation
import NIOCore
import Testing

@testable import MeshLoad

@Suite struct TicketDispenserTests {
    @Test func smoothOrderHoldsEachShareInEveryWindow() {
        let order = TicketDispenser.smoothWeightedOrder([10, 90])
        #expect(order.count == 100)
        #expect(order.filter { $0 == 0 }.count == 10)
        // Spread out, not a run of ten: no two beta requests are adjacent.
        #expect(!zip(order, order.dropFirst()).contains { $0 == 0 && $1 == 0 })
        #expect(TicketDispenser.smoothWeightedOrder([5]) == [0, 0, 0, 0, 0])
    }

    @Test func measuredTicketsStopAtTheLimit() {
        let dispenser = TicketDispenser(classWeights: [1, 3], limit: 8)
        var classes: [Int] = []
        for _ in 0..<5 { _ = dispenser.claim(measured: false) }  // warmup does not count against the limit
        while let next = dispenser.claim(measured: true) { classes.append(next) }
        #expect(classes.count == 8)
        #expect(dispenser.claim(measured: true) == nil)
    }

    @Test func openLoopIntendedTimesAreEvenlySpaced() throws {
        let plan = RunPlan(
            address: try SocketAddress(ipAddress: "127.0.0.1", port: 1), requests: [], isHead: [], subsetHeader: "x",
            timeoutNanos: 1, connectTimeout: .seconds(1), runStart: 1_000, measureStart: 1_000, sendDeadline: nil,
            openLoopPeriod: 1e9 / 400, totalSlots: 4, tickets: TicketDispenser(classWeights: [1], limit: nil))
        #expect(plan.intendedTime(0) == 1_000)
        #expect(plan.intendedTime(1) == 1_000 + 2_500_000)
        #expect(plan.intendedTime(400) == 1_000 + 1_000_000_000)
    }
}

/// Open loop: latency counts from the intended send time, so a stall is charged to every request
/// that should have gone out during it, not only to the one that was stuck.
@Suite(.serialized, .timeLimit(.minutes(2))) struct OpenLoopStallTests {
    @Test func latencyIncludesTheStall() async throws {
        let server = try await DestinationServer.start(.stall(request: 10, seconds: 1))
        let configuration = LoadConfiguration(
            target: try TargetURL(parsing: server.url), pacing: .openLoop(requestsPerSecond: 50), duration: nil, requestLimit: 100,
            connections: 1, threads: 1)
        let report = try await LoadRun.run(configuration)
        await server.stop()
        #expect(report.completed == 100)
        let latency = try #require(report.latency)
        #expect(latency.maxMs >= 1000)
        // About 50 requests were due during the one-second stall; their latencies run from ~1s
        // down to ~0, so at least the slowest tenth is above half a second. A closed-loop
        // measurement would show only the one stuck request.
        #expect(latency.p90Ms >= 500)
    }

    @Test func sendsThatNeverWentOutAreBacklog() async throws {
        let server = try await DestinationServer.start(.stall(request: 5, seconds: 2))
        let configuration = LoadConfiguration(
            target: try TargetURL(parsing: server.url), pacing: .openLoop(requestsPerSecond: 100), duration: .seconds(1),
            connections: 1, threads: 1)
        let report = try await LoadRun.run(configuration)
        await server.stop()
        #expect(report.requests == 5)
        #expect(report.completed == 5)
        // 100 sends were due in the window; five went out before the connection stuck.
        let backlog = try #require(report.backlog)
        #expect(backlog >= 90 && backlog <= 95)
    }
}
