import Foundation

/// The regularized incomplete gamma functions, the core of the chi-square distribution.
///
/// `P(a, x) = γ(a, x) / Γ(a)` and `Q(a, x) = 1 - P(a, x)`. Each is evaluated by whichever
/// expansion converges fast at (a, x): the power series for `x < a + 1`, the continued fraction
/// (modified Lentz) otherwise, and the other one is taken as the complement, so that a tail of
/// 1e-12 keeps its digits instead of being lost in `1 - 0.999999999999`.
public enum IncompleteGamma {
    /// Iteration bound for either expansion; both converge in O(√a) terms, so this covers a up to ~1e8.
    static let maxIterations = 100_000
    static let epsilon = 1e-15
    /// Keeps the continued fraction's denominators away from zero.
    static let tiny = 1e-300

    /// Lower regularized `P(a, x)`; nil unless `a > 0` and `x >= 0` (both finite).
    public static func lowerRegularized(_ a: Double, _ x: Double) -> Double? {
        guard a > 0, x >= 0, a.isFinite, x.isFinite else { return nil }
        if x == 0 { return 0 }
        if x < a + 1 { return series(a, x) }
        return 1 - continuedFraction(a, x)
    }

    /// Upper regularized `Q(a, x) = 1 - P(a, x)`; nil unless `a > 0` and `x >= 0` (both finite).
    public static func upperRegularized(_ a: Double, _ x: Double) -> Double? {
        guard a > 0, x >= 0, a.isFinite, x.isFinite else { return nil }
        if x == 0 { return 1 }
        if x < a + 1 { return 1 - series(a, x) }
        return continuedFraction(a, x)
    }

    /// `exp(-x) x^a / Γ(a)`, the factor both expansions share, computed in logs to avoid overflow.
    private static func prefactor(_ a: Double, _ x: Double) -> Double {
        exp(-x + a * log(x) - lgamma(a))
    }

    /// P(a, x) = prefactor / a · Σ x^n / ((a+1)…(a+n)).
    private static func series(_ a: Double, _ x: Double) -> Double {
        var denominator = a
        var term = 1 / a
        var sum = term
        for _ in 0..<maxIterations {
            denominator += 1
            term *= x / denominator
            sum += term
            if abs(term) < abs(sum) * epsilon { break }
        }
        return min(1, sum * prefactor(a, x))
    }

    /// Q(a, x) = prefactor · 1/(x+1-a- 1·(1-a)/(x+3-a- 2·(2-a)/(x+5-a- …))), by modified Lentz.
    private static func continuedFraction(_ a: Double, _ x: Double) -> Double {
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var fraction = d
        for i in 1...maxIterations {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            fraction *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return min(1, max(0, fraction * prefactor(a, x)))
    }
}

/// The chi-square distribution's upper tail, `P(X ≥ statistic)` for `degreesOfFreedom` degrees.
public enum ChiSquareDistribution {
    /// nil for a negative or non-finite statistic or fewer than one degree of freedom.
    public static func survival(_ statistic: Double, degreesOfFreedom: Int) -> Double? {
        guard degreesOfFreedom >= 1, statistic >= 0, statistic.isFinite else { return nil }
        return IncompleteGamma.upperRegularized(Double(degreesOfFreedom) / 2, statistic / 2)
    }
}
