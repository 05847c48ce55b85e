import Foundation
import MeshConfig
import Testing

@testable import MeshRouting

/// Weighted destinations: relative weights, zero weights, a lone destination, Envoy's random
/// pick from a seeded generator and the exact (smooth weighted round robin) mode.
@Suite struct WeightedPickTests {
    /// A VirtualService splitting between subsets with the given weights (nil = omitted).
    func split(_ weights: [(String, Int?)]) throws -> RoutingSnapshot {
        let lines = weights.map { subset, weight in
            "    - destination: {host: reviews, subset: \(subset)}" + (weight.map { "\n      weight: \($0)" } ?? "")
        }
        return try reviewsSnapshot(http: "  - name: split\n    route:\n" + lines.joined(separator: "\n"))
    }

    func picks(_ snapshot: RoutingSnapshot, mode: DestinationPicker.Mode, count: Int) -> [String] {
        var picker = DestinationPicker(mode: mode)
        let req = request()
        return (0..<count).map { _ in
            guard case .forward(let f) = snapshot.route(req, picker: &picker) else { return "none" }
            return f.cluster.subset ?? "-"
        }
    }

    @Test(arguments: [[("v1", 95), ("v2", 5)], [("v1", 50), ("v2", 30), ("v3", 20)], [("v1", 1), ("v2", 2), ("v3", 3)]])
    func exactModeHoldsEveryShareInEveryWindowOfTotalPicks(weights: [(String, Int)]) throws {
        let snapshot = try split(weights.map { ($0.0, Optional($0.1)) })
        let total = weights.reduce(0) { $0 + $1.1 }
        let sequence = picks(snapshot, mode: .exact, count: total * 7 + 3)
        for start in 0...(sequence.count - total) {
            let window = sequence[start..<(start + total)]
            for (subset, weight) in weights {
                #expect(window.filter { $0 == subset }.count == weight, "window at \(start)")
            }
        }
    }

    @Test func exactModeInterleavesSmoothly() throws {
        // nginx's smooth WRR spreads the minority: 80/20 never sends two v2 picks in a row.
        let sequence = picks(try split([("v1", 80), ("v2", 20)]), mode: .exact, count: 100)
        #expect(!zip(sequence, sequence.dropFirst()).contains { $0 == "v2" && $1 == "v2" })
    }

    @Test func randomModeIsReproducibleFromItsSeed() throws {
        let snapshot = try split([("v1", 75), ("v2", 25)])
        let a = picks(snapshot, mode: .random(seed: 42), count: 2000)
        let b = picks(snapshot, mode: .random(seed: 42), count: 2000)
        let c = picks(snapshot, mode: .random(seed: 43), count: 2000)
        #expect(a == b)
        #expect(a != c)
    }

    /// The count of one destination over n independent picks is Binomial(n, p); a seeded run
    /// must fall within 5 standard deviations (a false alarm has probability below 6e-7).
    @Test(arguments: [UInt64(1), 2, 3, 0xDEAD_BEEF])
    func randomModeSharesMatchTheWeightsWithinABinomialBound(seed: UInt64) throws {
        let weights = [("v1", 95), ("v2", 4), ("v3", 1)]
        let snapshot = try split(weights.map { ($0.0, Optional($0.1)) })
        let n = 100_000
        let sequence = picks(snapshot, mode: .random(seed: seed), count: n)
        for (subset, weight) in weights {
            let p = Double(weight) / 100
            let sigma = (Double(n) * p * (1 - p)).squareRoot()
            let observed = Double(sequence.filter { $0 == subset }.count)
            #expect(abs(observed - Double(n) * p) <= 5 * sigma, "\(subset): \(observed) vs \(Double(n) * p) ± \(5 * sigma)")
        }
    }

    @Test func weightsAreRelativeNotPercentages() throws {
        let snapshot = try split([("v1", 1), ("v2", 3)])
        let sequence = picks(snapshot, mode: .exact, count: 400)
        #expect(sequence.filter { $0 == "v2" }.count == 300)
        let explanation = snapshot.explain(request())
        #expect(explanation.destinations.map(\.fraction) == [0.25, 0.75])
        #expect(explanation.destinations.map(\.weight) == [1, 3])
    }

    @Test func zeroWeightIsNeverChosenInEitherMode() throws {
        let snapshot = try split([("v1", 100), ("v2", 0)])
        #expect(!picks(snapshot, mode: .exact, count: 500).contains("v2"))
        #expect(!picks(snapshot, mode: .random(seed: 7), count: 5000).contains("v2"))
        // An omitted weight among several destinations is 0 too.
        let omitted = try split([("v1", 10), ("v2", nil)])
        #expect(!picks(omitted, mode: .random(seed: 7), count: 5000).contains("v2"))
        #expect(omitted.explain(request()).destinations.map(\.fraction) == [1.0, 0.0])
    }

    @Test func aLoneDestinationTakesEverythingWhateverItsWeight() throws {
        for weight in [nil, 0, 30, 100] {
            let snapshot = try split([("v2", weight)])
            #expect(Set(picks(snapshot, mode: .random(seed: 1), count: 200)) == ["v2"])
            let explanation = snapshot.explain(request())
            #expect(explanation.destinations.map(\.weight) == [100])
            #expect(explanation.destinations.map(\.fraction) == [1.0])
        }
    }

    @Test func pickersKeepIndependentStatePerWeightedSet() throws {
        // Two rules with their own splits; interleaving requests must not disturb either's exact shares.
        let snapshot = try reviewsSnapshot(
            http: """
                  - match: [{uri: {prefix: /a}}]
                    route:
                    - {destination: {host: reviews, subset: v1}, weight: 50}
                    - {destination: {host: reviews, subset: v2}, weight: 50}
                  - route:
                    - {destination: {host: reviews, subset: v1}, weight: 90}
                    - {destination: {host: reviews, subset: v2}, weight: 10}
                """)
        var picker = DestinationPicker(mode: .exact)
        var a: [String] = [], b: [String] = []
        for i in 0..<200 {
            let path = i % 3 == 0 ? "/a" : "/b"
            guard case .forward(let f) = snapshot.route(request(path), picker: &picker) else { continue }
            if path == "/a" { a.append(f.cluster.subset ?? "") } else { b.append(f.cluster.subset ?? "") }
        }
        #expect(a.prefix(60).filter { $0 == "v2" }.count == 30)
        #expect(b.prefix(100).filter { $0 == "v2" }.count == 10)
    }

    @Test func aPickerMovedToANewSnapshotStartsOver() throws {
        let first = try split([("v1", 50), ("v2", 50)])
        let second = try split([("v1", 50), ("v2", 50)])
        var picker = DestinationPicker(mode: .exact)
        var seen: [String] = []
        for snapshot in [first, second] {
            for _ in 0..<3 {
                if case .forward(let f) = snapshot.route(request(), picker: &picker) { seen.append(f.cluster.subset ?? "") }
            }
        }
        // Each snapshot's sequence starts from zeroed counters: v1, v2, v1 both times.
        #expect(seen == ["v1", "v2", "v1", "v1", "v2", "v1"])
    }
}
