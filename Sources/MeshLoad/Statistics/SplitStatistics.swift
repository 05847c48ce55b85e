import Foundation

/// A two-sided confidence interval for a proportion.
public struct ProportionInterval: Sendable, Hashable, Codable {
    public var low: Double
    public var high: Double

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    public func contains(_ value: Double) -> Bool { value >= low && value <= high }
}

public enum SplitStatistics {
    /// The confidence level of every interval in a report.
    public static let confidence = 0.99
    /// The standard normal quantile for a two-sided 99% interval, Φ⁻¹(0.995).
    public static let z99 = 2.5758293035489004

    /// Wilson's score interval for `successes` out of `trials`: unlike the normal
    /// approximation it stays inside [0, 1] and is sensible for shares near 0 or 1, which is
    /// where canaries live (5%, 1%). nil when `trials` is 0 or the counts are inconsistent.
    public static func wilsonInterval(successes: Int, trials: Int, z: Double = z99) -> ProportionInterval? {
        guard trials > 0, successes >= 0, successes <= trials else { return nil }
        let n = Double(trials)
        let share = Double(successes) / n
        let z2 = z * z
        let denominator = 1 + z2 / n
        let center = (share + z2 / (2 * n)) / denominator
        let halfWidth = z / denominator * (share * (1 - share) / n + z2 / (4 * n * n)).squareRoot()
        // Exact 0 and 1 at the ends (the formula gives them up to rounding).
        let low = successes == 0 ? 0 : max(0, center - halfWidth)
        let high = successes == trials ? 1 : min(1, center + halfWidth)
        return ProportionInterval(low: low, high: high)
    }

    /// Pearson's chi-square goodness of fit of `observed` counts against `expectedFractions`
    /// (same order, fractions summing to 1, each > 0). nil for fewer than two categories (nothing
    /// to test), mismatched lengths or a zero total.
    public static func chiSquareGoodnessOfFit(observed: [Int], expectedFractions: [Double]) -> (statistic: Double, degreesOfFreedom: Int, pValue: Double)? {
        guard observed.count == expectedFractions.count, observed.count >= 2,
            expectedFractions.allSatisfy({ $0 > 0 }), observed.allSatisfy({ $0 >= 0 })
        else { return nil }
        let total = Double(observed.reduce(0, +))
        guard total > 0 else { return nil }
        var statistic = 0.0
        for (count, fraction) in zip(observed, expectedFractions) {
            let expected = total * fraction
            let difference = Double(count) - expected
            statistic += difference * difference / expected
        }
        let degreesOfFreedom = observed.count - 1
        guard let pValue = ChiSquareDistribution.survival(statistic, degreesOfFreedom: degreesOfFreedom) else { return nil }
        return (statistic, degreesOfFreedom, pValue)
    }
}
