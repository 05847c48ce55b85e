import Histogram

/// Why a request got no response.
public enum ErrorKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// The connection for it could not be opened (refused, unreachable, connect timeout).
    case connect
    /// No complete response within `--timeout` of sending.
    case timeout
    /// The connection was reset (ECONNRESET, EPIPE).
    case reset
    /// The server closed the connection before the response was complete.
    case closed
    /// The response was not valid HTTP/1.x.
    case `protocol`

    public static func < (a: ErrorKind, b: ErrorKind) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// Latencies are recorded in microseconds up to an hour; longer ones count as an hour.
enum LatencyHistogram {
    static let highestMicros: UInt64 = 3_600_000_000

    static func make() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestMicros, numberOfSignificantValueDigits: .three)
    }
}

struct OutcomeKey: Hashable {
    var classIndex: Int
    var status: Int
    /// Index into the recorder's subset names; -1 when the response named no destination.
    var subset: Int
}

struct ErrorKey: Hashable, Sendable {
    var classIndex: Int
    var kind: ErrorKind
}

/// Responses of one (class, status, subset), with their latencies.
final class OutcomeCell {
    var histogram = LatencyHistogram.make()
}

/// What one event loop recorded since its last sample. Values, safe to send to the coordinator.
struct RecorderSample: Sendable {
    struct Key: Hashable, Sendable {
        var classIndex: Int
        var status: Int
        var subset: String?
    }

    var outcomes: [Key: Histogram<UInt64>] = [:]
    var errors: [ErrorKey: Int] = [:]
    /// Measured requests sent (tickets taken after warmup).
    var sent = 0
    /// Answers to warmup requests (not otherwise counted).
    var warmupCompleted = 0
    /// Open loop: requests whose intended send time fell inside the window but that never went out.
    var backlog = 0

    var completed: Int { outcomes.values.reduce(0) { $0 + Int($1.totalCount) } }
    var errorCount: Int { errors.values.reduce(0, +) }

    mutating func merge(_ other: RecorderSample) {
        for (key, histogram) in other.outcomes {
            if outcomes[key] == nil {
                outcomes[key] = histogram
            } else {
                outcomes[key]?.add(histogram)
            }
        }
        errors.merge(other.errors, uniquingKeysWith: +)
        sent += other.sent
        warmupCompleted += other.warmupCompleted
        backlog += other.backlog
    }
}

/// One event loop's counters and histograms. Confined to its loop: no locks on the hot path.
final class LoopRecorder {
    private var outcomes: [OutcomeKey: OutcomeCell] = [:]
    private var errors: [ErrorKey: Int] = [:]
    /// Subset names seen on this loop, as bytes, so that a response's header is matched without
    /// building a String.
    private var subsetNames: [[UInt8]] = []
    private var sent = 0
    private var warmupCompleted = 0
    private var backlog = 0
    /// The cell of the previous response (cleared with every sample).
    private var lastKey = OutcomeKey(classIndex: -1, status: -1, subset: -1)
    private var lastCell: OutcomeCell?

    /// The subset a destination header value names: its text after the last `|`; the whole value
    /// when it has none (a backend's `x-meshsim-version: v2`); the host when nothing follows the `|`.
    func subsetIndex(forHeaderValue value: [UInt8]) -> Int {
        var name = value[...]
        if let bar = value.lastIndex(of: UInt8(ascii: "|")) {
            name = bar + 1 < value.endIndex ? value[(bar + 1)...] : value[..<bar]
        }
        for (index, known) in subsetNames.enumerated() where known.elementsEqual(name) { return index }
        subsetNames.append(Array(name))
        return subsetNames.count - 1
    }

    func noteSent(measured: Bool) {
        if measured { sent += 1 }
    }

    func noteBacklog(_ count: Int) { backlog += count }

    func recordResponse(classIndex: Int, status: Int, subset: Int, latencyNanos: UInt64, measured: Bool) {
        guard measured else {
            warmupCompleted += 1
            return
        }
        let key = OutcomeKey(classIndex: classIndex, status: status, subset: subset)
        let cell: OutcomeCell
        if let last = lastCell, lastKey == key {
            cell = last  // most responses repeat the previous outcome: skip the hash lookup
        } else if let existing = outcomes[key] {
            cell = existing
        } else {
            cell = OutcomeCell()
            outcomes[key] = cell
        }
        lastKey = key
        lastCell = cell
        let micros = min(max(latencyNanos / 1000, 1), LatencyHistogram.highestMicros)
        _ = cell.histogram.record(micros)
    }

    func recordError(classIndex: Int, kind: ErrorKind, measured: Bool) {
        guard measured else { return }
        errors[ErrorKey(classIndex: classIndex, kind: kind), default: 0] += 1
    }

    /// Everything recorded since the last call, which starts afresh.
    func takeSample() -> RecorderSample {
        var sample = RecorderSample()
        for (key, cell) in outcomes where cell.histogram.totalCount > 0 {
            let name = key.subset >= 0 ? String(decoding: subsetNames[key.subset], as: UTF8.self) : nil
            sample.outcomes[RecorderSample.Key(classIndex: key.classIndex, status: key.status, subset: name)] = cell.histogram
        }
        sample.errors = errors
        sample.sent = sent
        sample.warmupCompleted = warmupCompleted
        sample.backlog = backlog
        outcomes.removeAll(keepingCapacity: true)
        lastCell = nil
        errors.removeAll(keepingCapacity: true)
        sent = 0
        warmupCompleted = 0
        backlog = 0
        return sample
    }
}
