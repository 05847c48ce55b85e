import Histogram

// JSON output (`meshsim load --output json`): one object, the `LoadReport` below, encoded with
// sorted keys. Times are in milliseconds (latency) or seconds (durations); shares are fractions.
//
//   target              string   the URL requested
//   mode                string   "closed-loop" or "open-loop"
//   concurrency         int?     closed loop: requests in flight
//   targetRate          number?  open loop: requests per second asked for
//   connections         int      TCP connections opened
//   threads             int      generator event loops
//   warmupSeconds       number   warmup before measuring (its requests are not counted)
//   durationSeconds     number   measured time, from the end of warmup to the last answer
//   requests            int      measured requests issued (each ends as a response or an error)
//   completed           int      responses received (any status)
//   requestsPerSecond   number   completed / durationSeconds
//   backlog             int?     open loop: intended sends in the window that never went out
//                                (the target could not keep up on the connections given)
//   errors              object   total, connect, timeout, reset, closed, protocol (no response),
//                                status4xx, status5xx (responses with those statuses), grpc
//                                (--grpc: answers whose grpc-status is not 0)
//   latency             object?  all responses: count, p50Ms, p90Ms, p99Ms, p999Ms, maxMs, meanMs
//                                (open loop: measured from each request's intended send time)
//   byStatus            [object] per status code: key ("200"; with --grpc, a gRPC answer's
//                                grpc-status as "grpc 0", "grpc 14"), count, latency
//   bySubset            [object] per destination subset: key ("v2", or "(none)" when the
//                                response had no subset header), count, latency
//   subsetHeader        string   the response header read for the destination
//   classes             [object] per request class: name, weight, requests, completed, errors,
//                                split (below)
//   verdict             string?  "PASS" or "FAIL" over every class's split; absent without an
//                                expectation
//   split (per class):  requestClass, answered (responses naming a destination),
//                       withoutDestination, expectationSource, subsets [{subset,
//                       observedCount, observedShare, interval {low, high} (99% Wilson),
//                       expectedShare, expectedCount, expectedWithinInterval}], chiSquare,
//                       degreesOfFreedom, pValue, exactChecked, verdict, notes [string]

/// Latency percentiles of a set of responses, in milliseconds.
public struct LatencySummary: Sendable, Hashable, Codable {
    public var count: Int
    public var p50Ms: Double
    public var p90Ms: Double
    public var p99Ms: Double
    public var p999Ms: Double
    public var maxMs: Double
    public var meanMs: Double

    init?(_ histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else { return nil }
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        count = Int(histogram.totalCount)
        p50Ms = ms(histogram.valueAtPercentile(50))
        p90Ms = ms(histogram.valueAtPercentile(90))
        p99Ms = ms(histogram.valueAtPercentile(99))
        p999Ms = ms(histogram.valueAtPercentile(99.9))
        maxMs = ms(histogram.max)
        meanMs = histogram.mean / 1000
    }
}

/// Requests that failed, by kind, and responses with an error status, by class.
public struct ErrorCounts: Sendable, Hashable, Codable {
    public var connect = 0
    public var timeout = 0
    public var reset = 0
    public var closed = 0
    public var `protocol` = 0
    public var status4xx = 0
    public var status5xx = 0
    /// gRPC answers whose `grpc-status` is not OK.
    public var grpc = 0

    public init() {}

    /// Requests that got no response at all.
    public var withoutResponse: Int { connect + timeout + reset + closed + `protocol` }
    public var total: Int { withoutResponse + status4xx + status5xx + grpc }

    mutating func add(_ kind: ErrorKind, _ count: Int) {
        switch kind {
        case .connect: connect += count
        case .timeout: timeout += count
        case .reset: reset += count
        case .closed: closed += count
        case .protocol: `protocol` += count
        }
    }

    mutating func add(status: Int, _ count: Int) {
        if let code = GRPCOutcome.code(ofStatus: status) {
            if code != 0 { grpc += count }
            return
        }
        if (400..<500).contains(status) { status4xx += count }
        if status >= 500 { status5xx += count }
    }

    enum CodingKeys: String, CodingKey {
        case connect, timeout, reset, closed, `protocol`, status4xx, status5xx, grpc, total
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(connect, forKey: .connect)
        try container.encode(timeout, forKey: .timeout)
        try container.encode(reset, forKey: .reset)
        try container.encode(closed, forKey: .closed)
        try container.encode(`protocol`, forKey: .protocol)
        try container.encode(status4xx, forKey: .status4xx)
        try container.encode(status5xx, forKey: .status5xx)
        try container.encode(grpc, forKey: .grpc)
        try container.encode(total, forKey: .total)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        connect = try container.decode(Int.self, forKey: .connect)
        timeout = try container.decode(Int.self, forKey: .timeout)
        reset = try container.decode(Int.self, forKey: .reset)
        closed = try container.decode(Int.self, forKey: .closed)
        `protocol` = try container.decode(Int.self, forKey: .protocol)
        status4xx = try container.decode(Int.self, forKey: .status4xx)
        status5xx = try container.decode(Int.self, forKey: .status5xx)
        grpc = try container.decodeIfPresent(Int.self, forKey: .grpc) ?? 0
    }
}

/// Responses sharing a status code or a subset.
public struct LatencyGroup: Sendable, Hashable, Codable {
    public var key: String
    public var count: Int
    public var latency: LatencySummary?
}

public struct ClassReport: Sendable, Hashable, Codable {
    public var name: String
    public var weight: Int
    public var requests: Int
    public var completed: Int
    public var errors: ErrorCounts
    public var split: SplitCheck
}

/// The outcome of a whole run.
public struct LoadReport: Sendable, Hashable, Codable {
    public var target: String
    public var mode: String
    public var concurrency: Int?
    public var targetRate: Double?
    public var connections: Int
    public var threads: Int
    public var warmupSeconds: Double
    public var durationSeconds: Double
    public var requests: Int
    public var completed: Int
    public var requestsPerSecond: Double
    public var backlog: Int?
    public var errors: ErrorCounts
    public var latency: LatencySummary?
    public var byStatus: [LatencyGroup]
    public var bySubset: [LatencyGroup]
    public var subsetHeader: String
    public var classes: [ClassReport]
    public var verdict: Verdict?
}

/// What happened during one report interval (every `reportInterval`, and a last partial one).
public struct IntervalReport: Sendable, Hashable, Codable {
    public enum Phase: String, Sendable, Hashable, Codable {
        case warmup, measure
        /// After the send window: answers to requests still in flight.
        case drain
    }

    public var index: Int
    public var phase: Phase
    /// Seconds from the start of the run (warmup included) to the end of this interval.
    public var elapsedSeconds: Double
    public var intervalSeconds: Double
    /// Responses in this interval (warmup ones included during warmup).
    public var completed: Int
    public var requestsPerSecond: Double
    /// Requests that failed in this interval (no response, or 4xx/5xx).
    public var errors: ErrorCounts
    public var latency: LatencySummary?
    /// Answers per destination subset in this interval.
    public var subsets: [String: Int]
    /// Measured responses and errors so far.
    public var totalCompleted: Int
    public var totalErrors: Int
}
