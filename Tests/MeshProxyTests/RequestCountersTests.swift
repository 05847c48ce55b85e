import Testing

@testable import MeshProxy

/// `WorkerStats.RequestCounters` keeps the last outcome's cell to skip the lookup: a request
/// must count under its own outcome whatever the one before it was.
@Suite struct RequestCountersTests {
    @Test func eachRequestCountsUnderItsOwnOutcome() {
        let counters = WorkerStats.RequestCounters()
        let workloads = [StatsSnapshot.DestinationWorkload(instance: "pod-0", name: "pod", namespace: "default", labels: [:])]
        // Runs of one outcome and changes between outcomes, in both directions.
        let outcomes: [(code: Int, flags: ResponseFlags, workload: UInt32, milliseconds: Double)] = [
            (200, [], 1, 0.2), (200, [], 1, 3), (503, [.noHealthyUpstream], 0, 0.1), (200, [], 1, 7),
            (503, [.noHealthyUpstream], 0, 0.3), (503, [.noHealthyUpstream], 0, 0.4), (200, [], 0, 40), (200, [], 1, 0.9),
        ]
        for outcome in outcomes {
            counters.record(code: outcome.code, flags: outcome.flags, workload: outcome.workload, milliseconds: outcome.milliseconds)
        }
        var exported: [StatsSnapshot.RequestKey: StatsSnapshot.RequestStats] = [:]
        counters.export(cluster: "c", workloads: workloads, into: &exported)
        func stats(_ code: Int, _ flags: ResponseFlags, toPod: Bool) -> StatsSnapshot.RequestStats? {
            exported.first { $0.key.responseCode == code && $0.key.responseFlags == flags && ($0.key.destination != nil) == toPod }?.value
        }
        #expect(exported.count == 3)
        let ok = stats(200, [], toPod: true)
        #expect(ok?.count == 4)
        #expect(ok?.durationSumMilliseconds == 0.2 + 3 + 7 + 0.9)
        // 0.2 in the 0.5 ms bucket, 0.9 in the 1 ms one, 3 in the 5 ms one, 7 in the 10 ms one.
        #expect(ok?.durationBuckets.prefix(4) == [1, 1, 1, 1])
        let failed = stats(503, [.noHealthyUpstream], toPod: false)
        #expect(failed?.count == 3)
        #expect(failed?.durationBuckets.first == 3)
        let unrouted = stats(200, [], toPod: false)
        #expect(unrouted?.count == 1)
        #expect(unrouted?.durationSumMilliseconds == 40)
    }

    /// A cell's counters come out as the `RequestStats` the same adds would make: every bucket
    /// (the overflow one included), the sums and the gRPC message counts.
    @Test func aCellsCountersExportAsRequestStats() {
        let cell = WorkerStats.RequestCounters.Cell()
        cell.add(milliseconds: 0.2, requestBytes: 120, responseBytes: 0, grpcMessages: nil)
        cell.add(milliseconds: 7_200_000, requestBytes: -5, responseBytes: 9_000_000, grpcMessages: (request: 2, response: 3))
        cell.add(milliseconds: 30, requestBytes: 250, responseBytes: 1, grpcMessages: (request: 1, response: 0))
        var expected = StatsSnapshot.RequestStats()
        expected.count = 3
        expected.durationSumMilliseconds = 0.2 + 7_200_000 + 30
        expected.requestBytesSum = 370
        expected.responseBytesSum = 9_000_001
        expected.requestMessages = 3
        expected.responseMessages = 3
        let bounds = StatsSnapshot.histogramBucketBounds
        func bucket(_ value: Double) -> Int { bounds.firstIndex { value <= $0 } ?? bounds.count }
        for value in [0.2, 7_200_000, 30] { expected.durationBuckets[bucket(value)] += 1 }
        for value in [120.0, -5, 250] { expected.requestBytesBuckets[bucket(value)] += 1 }
        for value in [0.0, 9_000_000, 1] { expected.responseBytesBuckets[bucket(value)] += 1 }
        #expect(cell.stats == expected)
        #expect(cell.stats.durationBuckets.last == 1)
    }
}
