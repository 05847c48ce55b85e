import Foundation
import MeshBackends

/// The arithmetic behind the scenario: a subset's pods hold on average
/// `rate × its share of the traffic × mean latency` requests at once (Little's law). Where that
/// passes the sum of their `max-concurrency`, they refuse the excess with 503.
public enum LittlesLaw {
    /// The canary's share of all traffic at a step: all of the beta users' plus its weight of the rest.
    public static func canaryShare(canaryWeight: Int, betaShare: Double) -> Double {
        betaShare + (1 - betaShare) * Double(canaryWeight) / 100
    }

    /// Requests in flight on the canary's pods on average.
    public static func expectedInFlight(rate: Double, canaryWeight: Int, betaShare: Double, meanLatencySeconds: Double) -> Double {
        rate * canaryShare(canaryWeight: canaryWeight, betaShare: betaShare) * meanLatencySeconds
    }

    /// The mean of a latency model in seconds: for a log-normal, exp(mu + sigma²/2).
    public static func meanSeconds(_ model: LatencyModel) -> Double {
        switch model {
        case .none: return 0
        case .fixed(let nanoseconds): return Double(nanoseconds) / 1e9
        case .logNormal(let mu, let sigma): return exp(mu + sigma * sigma / 2) / 1e9
        }
    }
}
