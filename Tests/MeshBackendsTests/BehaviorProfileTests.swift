import MeshBackends
import Testing

@Suite struct BehaviorProfileTests {
    @Test func noAnnotationsMeansAnInstantHealthyPod() throws {
        let profile = try BehaviorProfile(annotations: ["sidecar.istio.io/inject": "true", "prometheus.io/scrape": "true"])
        #expect(profile == BehaviorProfile())
        #expect(profile.latency == .none)
        #expect(profile.errorRate == 0)
        #expect(profile.errorCode == 503)
        #expect(profile.maxConcurrency == nil)
        #expect(profile.bodyBytes == nil)
    }

    @Test func fixedLatency() throws {
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/latency": "5ms"]).latency == .fixed(nanoseconds: 5_000_000))
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/latency": " 1.5s "]).latency == .fixed(nanoseconds: 1_500_000_000))
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/latency": "0"]).latency == .none)
    }

    @Test(arguments: [
        ("p50=5ms,p99=40ms", 0.5, 5.0, 0.99, 40.0),
        ("p99=40ms, p50=5ms", 0.5, 5.0, 0.99, 40.0),
        ("p50=2ms,p90=10ms", 0.5, 2.0, 0.9, 10.0),
        ("p90=10ms,p999=200ms", 0.9, 10.0, 0.999, 200.0),
        ("p50=10ms,p99.9=1s", 0.5, 10.0, 0.999, 1000.0),
    ])
    func distributionIsFittedToBothQuantiles(text: String, p1: Double, ms1: Double, p2: Double, ms2: Double) throws {
        let latency = try BehaviorProfile(annotations: ["meshsim.dev/latency": text]).latency
        guard case .logNormal = latency else {
            Issue.record("expected a log-normal model for \(text), got \(latency)")
            return
        }
        #expect(abs(latency.quantile(p1) / (ms1 * 1e6) - 1) < 1e-6)
        #expect(abs(latency.quantile(p2) / (ms2 * 1e6) - 1) < 1e-6)
    }

    @Test func equalQuantilesAreAFixedLatency() throws {
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/latency": "p50=7ms,p99=7ms"]).latency == .fixed(nanoseconds: 7_000_000))
    }

    @Test func errorRateAndCode() throws {
        let percent = try BehaviorProfile(annotations: ["meshsim.dev/error-rate": "2%", "meshsim.dev/error-code": "500"])
        #expect(percent.errorRate == 0.02)
        #expect(percent.errorCode == 500)
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/error-rate": "0.25"]).errorRate == 0.25)
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/error-rate": "100%"]).errorRate == 1)
    }

    @Test func concurrencyAndBodySize() throws {
        let profile = try BehaviorProfile(annotations: ["meshsim.dev/max-concurrency": "40", "meshsim.dev/body-bytes": "4KiB"])
        #expect(profile.maxConcurrency == 40)
        #expect(profile.bodyBytes == 4096)
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/body-bytes": "512"]).bodyBytes == 512)
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/body-bytes": "1MB"]).bodyBytes == 1_000_000)
        #expect(try BehaviorProfile(annotations: ["meshsim.dev/body-bytes": "0"]).bodyBytes == 0)
    }

    @Test(arguments: [
        ("meshsim.dev/latency", "5 parsecs"),
        ("meshsim.dev/latency", "-5ms"),
        ("meshsim.dev/latency", "p50=5ms"),
        ("meshsim.dev/latency", "p50=40ms,p99=5ms"),
        ("meshsim.dev/latency", "p50=5ms,p99=40ms,p999=90ms"),
        ("meshsim.dev/latency", "p100=5ms,p50=1ms"),
        ("meshsim.dev/latency", "p50=0ms,p99=10ms"),
        ("meshsim.dev/latency", "2h"),
        ("meshsim.dev/error-rate", "150%"),
        ("meshsim.dev/error-rate", "5"),
        ("meshsim.dev/error-rate", "-0.1"),
        ("meshsim.dev/error-rate", "often"),
        ("meshsim.dev/error-code", "99"),
        ("meshsim.dev/error-code", "600"),
        ("meshsim.dev/error-code", "five hundred"),
        ("meshsim.dev/max-concurrency", "0"),
        ("meshsim.dev/max-concurrency", "-3"),
        ("meshsim.dev/max-concurrency", "lots"),
        ("meshsim.dev/body-bytes", "100MiB"),
        ("meshsim.dev/body-bytes", "12 parsecs"),
        ("meshsim.dev/body-bytes", "-1"),
        ("meshsim.dev/latancy", "5ms"),
    ])
    func badValueIsAnErrorNamingAnnotationAndValue(annotation: String, value: String) {
        do {
            let profile = try BehaviorProfile(annotations: [annotation: value])
            Issue.record("\(annotation)=\(value) was accepted as \(profile)")
        } catch let error as BehaviorProfileError {
            #expect(error.annotation == annotation)
            #expect(error.value == value)
            #expect(error.description.contains(annotation))
            #expect(error.description.contains("\"\(value)\""))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func seededGeneratorRepeatsForTheSameSeedOnly() {
        var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42), c = SeededRandom(seed: 43)
        let first = (0..<64).map { _ in a.next() }
        #expect(first == (0..<64).map { _ in b.next() })
        #expect(first != (0..<64).map { _ in c.next() })
        #expect(SeededRandom.podSeed(runSeed: 1, podKey: "default/reviews-v1-0") == SeededRandom.podSeed(runSeed: 1, podKey: "default/reviews-v1-0"))
        #expect(SeededRandom.podSeed(runSeed: 1, podKey: "default/reviews-v1-0") != SeededRandom.podSeed(runSeed: 1, podKey: "default/reviews-v1-1"))
        #expect(SeededRandom.podSeed(runSeed: 1, podKey: "default/reviews-v1-0") != SeededRandom.podSeed(runSeed: 2, podKey: "default/reviews-v1-0"))
    }

    /// The share of draws under each fitted quantile is binomial; both must lie within five
    /// standard deviations of what the quantile promises.
    @Test func logNormalDrawsMatchTheQuantilesTheyWereFittedTo() throws {
        let latency = try BehaviorProfile(annotations: ["meshsim.dev/latency": "p50=5ms,p99=40ms"]).latency
        var random = SeededRandom(seed: 7)
        let draws = 20_000
        var underMedian = 0, underP99 = 0
        for _ in 0..<draws {
            let ns = latency.sample(using: &random)
            #expect(ns >= 0 && ns <= LatencyModel.maximumNanoseconds)
            if ns < 5_000_000 { underMedian += 1 }
            if ns < 40_000_000 { underP99 += 1 }
        }
        func withinFiveSigma(_ count: Int, p: Double) -> Bool {
            let mean = Double(draws) * p
            let sigma = (Double(draws) * p * (1 - p)).squareRoot()
            return abs(Double(count) - mean) <= 5 * sigma
        }
        #expect(withinFiveSigma(underMedian, p: 0.5), "\(underMedian) of \(draws) under p50")
        #expect(withinFiveSigma(underP99, p: 0.99), "\(underP99) of \(draws) under p99")
    }
}
