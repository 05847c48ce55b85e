import Foundation

/// PASS or FAIL of one split check, or of a whole run.
public enum Verdict: String, Sendable, Hashable, Codable {
    case pass = "PASS"
    case fail = "FAIL"
}

/// One subset's line in a split check.
public struct SubsetShare: Sendable, Hashable, Codable {
    public var subset: String
    public var observedCount: Int
    public var observedShare: Double
    /// 99% Wilson score interval of the observed share.
    public var interval: ProportionInterval
    /// nil when nothing was expected (observation only).
    public var expectedShare: Double?
    public var expectedCount: Double?
    /// Whether `expectedShare` lies inside `interval`.
    public var expectedWithinInterval: Bool?
}

/// How the observed destinations of one request class compare with what was expected.
public struct SplitCheck: Sendable, Hashable, Codable {
    /// The request class ("default" without a mix file).
    public var requestClass: String
    /// Answers that named a destination.
    public var answered: Int
    /// Requests of this class that got no destination (an error, or a response without the header).
    public var withoutDestination: Int
    /// Expected subsets first (in the order given), then any unexpected ones.
    public var subsets: [SubsetShare]
    /// Where the expectation came from; nil when there was none.
    public var expectationSource: String?
    public var chiSquare: Double?
    public var degreesOfFreedom: Int?
    public var pValue: Double?
    /// Whether exact counts were demanded and could be checked for this many answers.
    public var exactChecked: Bool
    /// nil when there was no expectation.
    public var verdict: Verdict?
    /// Why it failed, and caveats (e.g. small expected counts); one line each.
    public var notes: [String]

    /// Compares `observed` (subset → answers) against `expected`.
    /// - Parameters:
    ///   - alpha: the significance level; a chi-square p-value below it fails.
    ///   - exact: demand exact counts when `answered` is a multiple of the expected weight sum.
    public static func evaluate(
        requestClass: String, observed: [String: Int], withoutDestination: Int,
        expected: ExpectedShares?, alpha: Double, exact: Bool
    ) -> SplitCheck {
        let answered = observed.values.reduce(0, +)
        var order = expected?.entries.map(\.subset) ?? []
        order += observed.keys.filter { !order.contains($0) }.sorted()
        var check = SplitCheck(
            requestClass: requestClass, answered: answered, withoutDestination: withoutDestination, subsets: [],
            expectationSource: expected?.source, exactChecked: false, verdict: nil, notes: [])
        for subset in order {
            let count = observed[subset] ?? 0
            let interval = SplitStatistics.wilsonInterval(successes: count, trials: answered) ?? ProportionInterval(low: 0, high: 1)
            let fraction = expected?.fraction(of: subset)
            check.subsets.append(
                SubsetShare(
                    subset: subset, observedCount: count, observedShare: answered > 0 ? Double(count) / Double(answered) : 0,
                    interval: interval, expectedShare: fraction, expectedCount: fraction.map { $0 * Double(answered) },
                    expectedWithinInterval: answered > 0 ? fraction.map { interval.contains($0) } : nil))
        }
        guard let expected else { return check }

        var failures: [String] = []
        if answered == 0 {
            failures.append("no answer named a destination (\(withoutDestination) without one)")
        }
        for share in check.subsets where share.observedCount > 0 && (share.expectedShare ?? 0) == 0 {
            failures.append("\(share.subset) answered \(share.observedCount) requests but is expected to get none")
        }
        let tested = check.subsets.filter { ($0.expectedShare ?? 0) > 0 }
        if answered > 0 {
            if tested.count >= 2,
                let fit = SplitStatistics.chiSquareGoodnessOfFit(
                    observed: tested.map(\.observedCount), expectedFractions: tested.map { $0.expectedShare ?? 0 })
            {
                check.chiSquare = fit.statistic
                check.degreesOfFreedom = fit.degreesOfFreedom
                check.pValue = fit.pValue
                if fit.pValue < alpha {
                    failures.append("chi-square \(format(fit.statistic)) on \(fit.degreesOfFreedom) df: p = \(formatP(fit.pValue)) < \(alpha)")
                }
                if tested.contains(where: { ($0.expectedCount ?? 0) < 5 }) {
                    check.notes.append("an expected count is below 5: the chi-square p-value is only approximate")
                }
            } else if tested.count == 1 {
                check.pValue = 1  // a single expected destination: the only question is whether anything went elsewhere
            }
        }
        if exact {
            if let window = expected.integerWeightSum, window > 0 {
                if withoutDestination > 0 {
                    failures.append("exact counts need every request answered: \(withoutDestination) got no destination")
                } else if answered > 0 && answered % window == 0 {
                    check.exactChecked = true
                    for share in check.subsets {
                        let want = answered / window * Int(expected.entries.first { $0.subset == share.subset }?.weight ?? 0)
                        if share.observedCount != want {
                            failures.append("exact: \(share.subset) answered \(share.observedCount), expected exactly \(want)")
                        }
                    }
                } else {
                    check.notes.append("exact counts not checked: \(answered) answers is not a multiple of the weight sum \(window)")
                }
            } else {
                check.notes.append("exact counts not checked: the expected weights are not whole numbers")
            }
        }
        check.notes = failures + check.notes
        check.verdict = failures.isEmpty ? .pass : .fail
        return check
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return String(rounded)
    }

    static func formatP(_ value: Double) -> String {
        value < 0.0001 ? String(format: "%.2e", value) : String(format: "%.4f", value)
    }
}
