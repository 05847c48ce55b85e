import MeshDemo
import Testing

@Suite struct RolloutGateTests {
    static func canary(answers: Int, errors: Int, p99: Double?) -> SubsetObservation {
        SubsetObservation(subset: "v2", answers: answers, errors: errors, p99Milliseconds: p99)
    }

    @Test func stepsParseAndRejectWhatIsNotARollout() throws {
        #expect(try RolloutSteps.parse("0,5,25,50,100") == [0, 5, 25, 50, 100])
        #expect(try RolloutSteps.parse(" 10 , 20 ") == [10, 20])
        for bad in ["", "5,5", "50,25", "0,101", "-1,5", "a,b", "5,,10"] {
            #expect(throws: DemoInputError.self, "\(bad)") { try RolloutSteps.parse(bad) }
        }
    }

    @Test func errorRateParsesPercentOrFraction() throws {
        #expect(try CanaryThresholds.parseRate("1%") == 0.01)
        #expect(try CanaryThresholds.parseRate("0.05") == 0.05)
        for bad in ["150%", "-1%", "x", "2"] {
            #expect(throws: DemoInputError.self) { try CanaryThresholds.parseRate(bad) }
        }
    }

    @Test func breachesAreStrictlyAboveTheThresholds() {
        let thresholds = CanaryThresholds(maxErrorRate: 0.01, maxP99Milliseconds: 500)
        #expect(thresholds.breaches(of: Self.canary(answers: 1000, errors: 10, p99: 500)).isEmpty, "equal is healthy")
        let errors = thresholds.breaches(of: Self.canary(answers: 1000, errors: 11, p99: 100))
        #expect(errors.count == 1 && errors[0].contains("error rate 1.1% > 1.0%") && errors[0].contains("11 of 1000"))
        let slow = thresholds.breaches(of: Self.canary(answers: 10, errors: 0, p99: 500.5))
        #expect(slow.count == 1 && slow[0].contains("p99"))
        #expect(thresholds.breaches(of: Self.canary(answers: 10, errors: 5, p99: 900)).count == 2)
        #expect(thresholds.breaches(of: Self.canary(answers: 0, errors: 0, p99: nil)).isEmpty, "no answers: nothing to judge")
    }

    @Test func gateAdvancesCompletesRollsBackOrHalts() {
        let gate = RolloutGate(steps: [0, 5, 25, 50, 100], thresholds: CanaryThresholds())
        #expect(gate.action(afterStep: 0, breaches: []) == .advance(toStep: 1))
        #expect(gate.action(afterStep: 3, breaches: []) == .advance(toStep: 4))
        #expect(gate.action(afterStep: 4, breaches: []) == .complete)
        #expect(gate.action(afterStep: 3, breaches: ["v2 error rate"]) == .rollBack)
        #expect(gate.action(afterStep: 1, breaches: ["v2 p99"]) == .rollBack)
        // At weight 0 only beta users reach v2: nothing to roll back.
        #expect(gate.action(afterStep: 0, breaches: ["v2 error rate"]) == .halt)
        let single = RolloutGate(steps: [50], thresholds: CanaryThresholds())
        #expect(single.action(afterStep: 0, breaches: []) == .complete)
        #expect(single.action(afterStep: 0, breaches: ["x"]) == .rollBack)
    }

    @Test func firstBreachingStepIsWhereTheRolloutStops() {
        let gate = RolloutGate(steps: [0, 5, 25, 50], thresholds: CanaryThresholds(maxErrorRate: 0.01, maxP99Milliseconds: 1000))
        let healthy = Self.canary(answers: 100, errors: 0, p99: 300)
        let failing = Self.canary(answers: 100, errors: 7, p99: 300)
        let slow = Self.canary(answers: 100, errors: 0, p99: 1200)
        #expect(gate.firstBreachingStep([healthy, healthy, healthy, failing]) == 3)
        #expect(gate.firstBreachingStep([healthy, slow, failing]) == 1)
        #expect(gate.firstBreachingStep([healthy, healthy]) == nil)
    }

    @Test func settingsValidateTheirRanges() throws {
        try DemoSettings().validate()
        try DemoSettings.fast.validate()
        #expect(DemoSettings.fast.hold < DemoSettings().hold)
        var settings = DemoSettings()
        settings.rate = 5
        #expect(throws: DemoInputError.self) { try settings.validate() }
        settings = DemoSettings()
        settings.canarySubset = "v1"
        #expect(throws: DemoInputError.self) { try settings.validate() }
        settings = DemoSettings()
        settings.host = "reviews\r\nx"
        #expect(throws: DemoInputError.self) { try settings.validate() }
        settings = DemoSettings()
        settings.thresholds.maxP99Milliseconds = 0
        #expect(throws: DemoInputError.self) { try settings.validate() }
    }

    /// One request a second per connection at most: the schedule never waits on a slow answer.
    @Test func connectionsCoverOneSecondOfRequests() {
        var settings = DemoSettings()
        settings.rate = 200
        #expect(settings.connections == 200)
        settings.rate = 10
        #expect(settings.connections == 32)
    }
}
