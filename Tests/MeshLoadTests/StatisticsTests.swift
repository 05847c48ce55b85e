import Foundation
import Testing

@testable import MeshLoad

/// Reference values computed with SciPy 1.17 (scipy.special.gammainc/gammaincc,
/// scipy.stats.chi2.isf, binomtest(...).proportion_ci(method="wilson"), scipy.stats.chisquare).
@Suite struct IncompleteGammaTests {
    static func close(_ a: Double?, _ b: Double, relative: Double = 1e-10) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= relative * max(abs(b), 1e-300)
    }

    @Test(arguments: [
        (0.5, 0.1, 0.6547208460185768, 0.34527915398142317),
        (3.0, 2.5, 0.5438131158833297, 0.45618688411667035),
        (10.0, 12.0, 0.24239216167051245, 0.7576078383294875),
        (7.5, 0.2, 0.9999999996580312, 3.419688345262265e-10),
        (50.0, 40.0, 0.9296649333406051, 0.07033506665939494),
        (1000.0, 1100.0, 0.0010593232539299773, 0.9989406767460701),
        (0.1, 5.0, 0.00014393896584673387, 0.9998560610341533),
        (2.5, 30.0, 1.2154569777183007e-11, 0.9999999999878454),
    ])
    func matchesReferenceValues(a: Double, x: Double, upper: Double, lower: Double) {
        #expect(Self.close(IncompleteGamma.upperRegularized(a, x), upper, relative: 1e-9))
        #expect(Self.close(IncompleteGamma.lowerRegularized(a, x), lower, relative: 1e-9))
    }

    @Test func closedFormsHold() {
        // Q(1, x) = e^-x; P(1/2, x) = erf(√x).
        for x in [0.001, 0.5, 1, 2, 7.5, 30] {
            #expect(Self.close(IncompleteGamma.upperRegularized(1, x), exp(-x), relative: 1e-12))
            #expect(Self.close(IncompleteGamma.lowerRegularized(0.5, x), erf(x.squareRoot()), relative: 1e-12))
        }
        #expect(IncompleteGamma.lowerRegularized(2, 0) == 0)
        #expect(IncompleteGamma.upperRegularized(2, 0) == 1)
    }

    @Test func rejectsOutOfDomainArguments() {
        #expect(IncompleteGamma.upperRegularized(0, 1) == nil)
        #expect(IncompleteGamma.upperRegularized(-1, 1) == nil)
        #expect(IncompleteGamma.lowerRegularized(1, -0.5) == nil)
        #expect(IncompleteGamma.lowerRegularized(.nan, 1) == nil)
        #expect(IncompleteGamma.upperRegularized(1, .infinity) == nil)
    }

    @Test(arguments: [
        (1, 3.8414588206941285, 0.05), (1, 6.634896601021217, 0.01), (2, 9.210340371976182, 0.01),
        (5, 11.070497693516355, 0.05), (10, 23.20925115895436, 0.01), (30, 50.892181311517085, 0.01),
        (100, 135.80672317102676, 0.01), (3, 0.02429758581569275, 0.999),
    ])
    func chiSquareSurvivalAtCriticalValues(df: Int, statistic: Double, tail: Double) {
        #expect(Self.close(ChiSquareDistribution.survival(statistic, degreesOfFreedom: df), tail, relative: 1e-9))
    }

    @Test func chiSquareSurvivalRejectsNonsense() {
        #expect(ChiSquareDistribution.survival(1, degreesOfFreedom: 0) == nil)
        #expect(ChiSquareDistribution.survival(-1, degreesOfFreedom: 1) == nil)
        #expect(ChiSquareDistribution.survival(0, degreesOfFreedom: 3) == 1)
    }
}

@Suite struct SplitStatisticsTests {
    @Test(arguments: [
        (5, 100, 0.016848316042600675, 0.13915030290164002),
        (0, 50, 0.0, 0.11715209171762797),
        (50, 50, 0.8828479082823721, 1.0),
        (19, 400, 0.02672768356927322, 0.0830388341942421),
        (950, 1000, 0.9290930273094663, 0.9649749242774676),
    ])
    func wilsonIntervalMatchesReference(successes: Int, trials: Int, low: Double, high: Double) throws {
        let interval = try #require(SplitStatistics.wilsonInterval(successes: successes, trials: trials))
        #expect(abs(interval.low - low) < 1e-12)
        #expect(abs(interval.high - high) < 1e-12)
    }

    @Test func wilsonIntervalRejectsInconsistentCounts() {
        #expect(SplitStatistics.wilsonInterval(successes: 1, trials: 0) == nil)
        #expect(SplitStatistics.wilsonInterval(successes: 5, trials: 4) == nil)
        #expect(SplitStatistics.wilsonInterval(successes: -1, trials: 4) == nil)
    }

    @Test func chiSquareGoodnessOfFitMatchesReference() throws {
        let fail = try #require(SplitStatistics.chiSquareGoodnessOfFit(observed: [930, 70], expectedFractions: [0.95, 0.05]))
        #expect(abs(fail.statistic - 8.421052631578947) < 1e-9)
        #expect(fail.degreesOfFreedom == 1)
        #expect(abs(fail.pValue - 0.0037090099909748053) < 1e-12)
        let pass = try #require(SplitStatistics.chiSquareGoodnessOfFit(observed: [960, 40], expectedFractions: [0.95, 0.05]))
        #expect(abs(pass.pValue - 0.14679308730856683) < 1e-12)
        let third: Double = 1.0 / 3
        let thirds: [Double] = [third, third, third]
        let three = try #require(SplitStatistics.chiSquareGoodnessOfFit(observed: [40, 35, 25], expectedFractions: thirds))
        #expect(abs(three.statistic - 3.5) < 1e-9)
        #expect(three.degreesOfFreedom == 2)
        #expect(abs(three.pValue - 0.1737739434504451) < 1e-12)
    }

    @Test func chiSquareGoodnessOfFitRejectsDegenerateInput() {
        #expect(SplitStatistics.chiSquareGoodnessOfFit(observed: [10], expectedFractions: [1]) == nil)
        #expect(SplitStatistics.chiSquareGoodnessOfFit(observed: [0, 0], expectedFractions: [0.5, 0.5]) == nil)
        #expect(SplitStatistics.chiSquareGoodnessOfFit(observed: [1, 2], expectedFractions: [1]) == nil)
        #expect(SplitStatistics.chiSquareGoodnessOfFit(observed: [1, 2], expectedFractions: [1, 0]) == nil)
    }
}

@Suite struct SplitCheckTests {
    let canary: ExpectedShares

    init() throws {
        canary = try ExpectedShares(parsing: "v1=95,v2=5")
    }

    @Test func passesAFairSplit() {
        let check = SplitCheck.evaluate(
            requestClass: "default", observed: ["v1": 960, "v2": 40], withoutDestination: 0, expected: canary, alpha: 0.01, exact: false)
        #expect(check.verdict == .pass)
        #expect(check.answered == 1000)
        #expect(check.subsets.map(\.subset) == ["v1", "v2"])
        #expect(check.subsets[1].expectedWithinInterval == true)
        #expect(check.degreesOfFreedom == 1)
    }

    @Test func failsASkewedSplitByPValue() throws {
        let check = SplitCheck.evaluate(
            requestClass: "default", observed: ["v1": 900, "v2": 100], withoutDestination: 0, expected: canary, alpha: 0.01, exact: false)
        #expect(check.verdict == .fail)
        #expect(try #require(check.pValue) < 0.01)
        #expect(check.notes.first?.contains("chi-square") == true)
        #expect(check.subsets[1].expectedWithinInterval == false)
    }

    @Test func failsWhenASubsetExpectedToGetNothingAnswers() throws {
        let allV1 = try ExpectedShares(parsing: "v1=100")
        let check = SplitCheck.evaluate(
            requestClass: "default", observed: ["v1": 999, "v3": 1], withoutDestination: 0, expected: allV1, alpha: 0.01, exact: false)
        #expect(check.verdict == .fail)
        #expect(check.notes.contains { $0.contains("v3 answered 1") })
        // A zero share listed explicitly is the same.
        let zero = try ExpectedShares(parsing: "v1=100,v2=0")
        let second = SplitCheck.evaluate(
            requestClass: "default", observed: ["v1": 10, "v2": 1], withoutDestination: 0, expected: zero, alpha: 0.01, exact: false)
        #expect(second.verdict == .fail)
    }

    @Test func failsWhenNothingNamedADestination() {
        let check = SplitCheck.evaluate(requestClass: "default", observed: [:], withoutDestination: 7, expected: canary, alpha: 0.01, exact: false)
        #expect(check.verdict == .fail)
        #expect(check.withoutDestination == 7)
    }

    @Test func observationOnlyWithoutExpectation() {
        let check = SplitCheck.evaluate(requestClass: "default", observed: ["v2": 3, "v1": 7], withoutDestination: 0, expected: nil, alpha: 0.01, exact: false)
        #expect(check.verdict == nil)
        #expect(check.subsets.map(\.subset) == ["v1", "v2"])
        #expect(check.subsets[0].observedShare == 0.7)
    }

    @Test func exactCountsAreDemandedOnWholeWindows() {
        let exact = SplitCheck.evaluate(requestClass: "c", observed: ["v1": 190, "v2": 10], withoutDestination: 0, expected: canary, alpha: 0.01, exact: true)
        #expect(exact.verdict == .pass)
        #expect(exact.exactChecked)
        // Statistically fine, but not exact.
        let offByOne = SplitCheck.evaluate(requestClass: "c", observed: ["v1": 189, "v2": 11], withoutDestination: 0, expected: canary, alpha: 0.01, exact: true)
        #expect(offByOne.verdict == .fail)
        #expect(offByOne.notes.contains { $0.contains("expected exactly 10") })
        // 150 answers is not a multiple of 100: checked statistically, with a note.
        let partial = SplitCheck.evaluate(requestClass: "c", observed: ["v1": 142, "v2": 8], withoutDestination: 0, expected: canary, alpha: 0.01, exact: true)
        #expect(partial.verdict == .pass)
        #expect(!partial.exactChecked)
        #expect(partial.notes.contains { $0.contains("not a multiple of the weight sum 100") })
        // A lost request breaks exactness.
        let lost = SplitCheck.evaluate(requestClass: "c", observed: ["v1": 190, "v2": 10], withoutDestination: 1, expected: canary, alpha: 0.01, exact: true)
        #expect(lost.verdict == .fail)
    }
}
