import Histogram

/// Turns recorded samples into report values.
enum ReportBuilder {
    static let noSubset = "(none)"

    static func interval(
        index: Int, phase: IntervalReport.Phase, elapsedSeconds: Double, intervalSeconds: Double,
        sample: RecorderSample, cumulative: RecorderSample
    ) -> IntervalReport {
        var all = LatencyHistogram.make()
        var subsets: [String: Int] = [:]
        var errors = ErrorCounts()
        for (key, histogram) in sample.outcomes {
            all.add(histogram)
            subsets[key.subset ?? noSubset, default: 0] += Int(histogram.totalCount)
            errors.add(status: key.status, Int(histogram.totalCount))
        }
        for (key, count) in sample.errors { errors.add(key.kind, count) }
        let completed = sample.completed + sample.warmupCompleted
        var totalErrors = ErrorCounts()
        for (key, histogram) in cumulative.outcomes { totalErrors.add(status: key.status, Int(histogram.totalCount)) }
        for (key, count) in cumulative.errors { totalErrors.add(key.kind, count) }
        return IntervalReport(
            index: index, phase: phase, elapsedSeconds: elapsedSeconds, intervalSeconds: intervalSeconds,
            completed: completed, requestsPerSecond: intervalSeconds > 0 ? Double(completed) / intervalSeconds : 0,
            errors: errors, latency: LatencySummary(all), subsets: subsets,
            totalCompleted: cumulative.completed, totalErrors: totalErrors.total)
    }

    static func final(configuration: LoadConfiguration, threads: Int, sample: RecorderSample, measuredSeconds: Double) -> LoadReport {
        var all = LatencyHistogram.make()
        var byStatus: [Int: Histogram<UInt64>] = [:]
        var bySubset: [String: Histogram<UInt64>] = [:]
        var errors = ErrorCounts()
        var classCompleted = [Int](repeating: 0, count: configuration.classes.count)
        var classErrors = [ErrorCounts](repeating: ErrorCounts(), count: configuration.classes.count)
        var classSubsets = [[String: Int]](repeating: [:], count: configuration.classes.count)
        var classWithoutDestination = [Int](repeating: 0, count: configuration.classes.count)
        for (key, histogram) in sample.outcomes {
            let count = Int(histogram.totalCount)
            all.add(histogram)
            byStatus[key.status, default: LatencyHistogram.make()].add(histogram)
            bySubset[key.subset ?? noSubset, default: LatencyHistogram.make()].add(histogram)
            errors.add(status: key.status, count)
            guard configuration.classes.indices.contains(key.classIndex) else { continue }
            classCompleted[key.classIndex] += count
            classErrors[key.classIndex].add(status: key.status, count)
            if let subset = key.subset {
                classSubsets[key.classIndex][subset, default: 0] += count
            } else {
                classWithoutDestination[key.classIndex] += count
            }
        }
        for (key, count) in sample.errors {
            errors.add(key.kind, count)
            guard configuration.classes.indices.contains(key.classIndex) else { continue }
            classErrors[key.classIndex].add(key.kind, count)
            classWithoutDestination[key.classIndex] += count
        }

        var classes: [ClassReport] = []
        for (index, requestClass) in configuration.classes.enumerated() {
            let split = SplitCheck.evaluate(
                requestClass: requestClass.name, observed: classSubsets[index],
                withoutDestination: classWithoutDestination[index],
                expected: requestClass.expected ?? configuration.expected, alpha: configuration.alpha, exact: configuration.exact)
            let requests = classCompleted[index] + classErrors[index].withoutResponse
            classes.append(
                ClassReport(
                    name: requestClass.name, weight: requestClass.weight, requests: requests,
                    completed: classCompleted[index], errors: classErrors[index], split: split))
        }
        let verdicts = classes.compactMap(\.split.verdict)
        let verdict: Verdict? = verdicts.isEmpty ? nil : (verdicts.contains(.fail) ? .fail : .pass)

        var concurrency: Int?
        var rate: Double?
        switch configuration.pacing {
        case .closedLoop(let c): concurrency = c
        case .openLoop(let r): rate = r
        }
        let completed = Int(all.totalCount)
        return LoadReport(
            target: configuration.target.description, mode: rate == nil ? "closed-loop" : "open-loop",
            concurrency: concurrency, targetRate: rate, connections: configuration.activeConnections, threads: threads,
            warmupSeconds: configuration.warmup.seconds, durationSeconds: measuredSeconds, requests: sample.sent,
            completed: completed, requestsPerSecond: measuredSeconds > 0 ? Double(completed) / measuredSeconds : 0,
            backlog: rate == nil ? nil : sample.backlog, errors: errors, latency: LatencySummary(all),
            byStatus: byStatus.keys.sorted().map { status in
                LatencyGroup(key: GRPCOutcome.reportKey(status), count: Int(byStatus[status]?.totalCount ?? 0), latency: byStatus[status].flatMap(LatencySummary.init))
            },
            bySubset: bySubset.keys.sorted().map { subset in
                LatencyGroup(key: subset, count: Int(bySubset[subset]?.totalCount ?? 0), latency: bySubset[subset].flatMap(LatencySummary.init))
            },
            subsetHeader: configuration.subsetHeader, classes: classes, verdict: verdict)
    }
}

extension Duration {
    /// Seconds as a Double.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    var nanoseconds: UInt64 {
        let parts = components
        guard parts.seconds >= 0 else { return 0 }
        return UInt64(parts.seconds) * 1_000_000_000 + UInt64(parts.attoseconds / 1_000_000_000)
    }
}
