import Foundation

/// How long a simulated pod takes to answer: nothing, a fixed duration, or a log-normal
/// distribution fitted to two quantiles (service latencies are roughly log-normal: a body
/// around the median and a long right tail).
public enum LatencyModel: Sendable, Hashable, CustomStringConvertible {
    case none
    case fixed(nanoseconds: Int64)
    /// `ln(latency in ns)` is normal with mean `mu` and standard deviation `sigma`.
    case logNormal(mu: Double, sigma: Double)

    /// No draw exceeds this: a log-normal tail is unbounded, and a simulated pod that sleeps
    /// for an hour helps nobody.
    public static let maximumNanoseconds: Int64 = 60_000_000_000

    /// The log-normal whose quantiles `lower.quantile` and `upper.quantile` (in (0, 1), lower
    /// first) are the given durations; equal durations give a fixed latency.
    public static func fitted(
        lower: (quantile: Double, nanoseconds: Int64), upper: (quantile: Double, nanoseconds: Int64)
    ) -> LatencyModel? {
        guard lower.quantile > 0, upper.quantile < 1, lower.quantile < upper.quantile,
            lower.nanoseconds > 0, upper.nanoseconds >= lower.nanoseconds
        else { return nil }
        if upper.nanoseconds == lower.nanoseconds { return .fixed(nanoseconds: lower.nanoseconds) }
        let zLower = standardNormalQuantile(lower.quantile)
        let zUpper = standardNormalQuantile(upper.quantile)
        let sigma = (log(Double(upper.nanoseconds)) - log(Double(lower.nanoseconds))) / (zUpper - zLower)
        let mu = log(Double(lower.nanoseconds)) - zLower * sigma
        return .logNormal(mu: mu, sigma: sigma)
    }

    /// The model's `p` quantile (0 < p < 1) in nanoseconds, before the cap.
    public func quantile(_ p: Double) -> Double {
        switch self {
        case .none: return 0
        case .fixed(let ns): return Double(ns)
        case .logNormal(let mu, let sigma): return exp(mu + sigma * Self.standardNormalQuantile(p))
        }
    }

    /// One latency draw in nanoseconds (0 for `.none`), capped at `maximumNanoseconds`.
    public func sample(using random: inout SeededRandom) -> Int64 {
        switch self {
        case .none:
            return 0
        case .fixed(let ns):
            return ns
        case .logNormal(let mu, let sigma):
            // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
            let u1 = 1 - random.nextUnit()
            let u2 = random.nextUnit()
            let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            let ns = exp(mu + sigma * z)
            return ns >= Double(Self.maximumNanoseconds) ? Self.maximumNanoseconds : Int64(ns)
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .fixed(let ns): return Self.format(Double(ns))
        case .logNormal:
            return "log-normal p50=\(Self.format(quantile(0.5))) p99=\(Self.format(quantile(0.99)))"
        }
    }

    static func format(_ nanoseconds: Double) -> String {
        if nanoseconds >= 1e9 { return "\((nanoseconds / 1e7).rounded() / 100)s" }
        if nanoseconds >= 1e6 { return "\((nanoseconds / 1e4).rounded() / 100)ms" }
        return "\((nanoseconds / 10).rounded() / 100)µs"
    }

    /// The inverse of the standard normal CDF (Acklam's rational approximation, relative error
    /// below 1.2e-9, ample for fitting latencies).
    public static func standardNormalQuantile(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p > 1 - low {
            let q = (-2 * log(1 - p)).squareRoot()
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let q = p - 0.5
        let r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }
}
