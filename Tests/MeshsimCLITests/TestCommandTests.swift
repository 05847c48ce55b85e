import Foundation
import Testing

/// `meshsim test` as CI runs it.
@Suite struct TestCommandTests {
    let headerRouting = ["-f", MeshsimRunner.configs("reviews"), "-f", MeshsimRunner.configs("header-routing")]

    @Test func theExampleCasesRunGreenWithFullCoverage() async throws {
        let output = try await MeshsimRunner.run(["test"] + headerRouting + [MeshsimRunner.scenario("route-tests.yaml"), "--fail-under", "100"])
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
        #expect(output.stdout.contains("PASS  beta users always reach v2"))
        #expect(output.stdout.contains("coverage: 2/2 rules (100%)"))
        #expect(output.stdout.contains("4 passed, 0 failed"))
    }

    @Test func aFailingCaseExitsOneWithTheReason() async throws {
        try await withTemporaryFile(
            """
            tests:
            - name: beta users reach v1 (wrong)
              request: {headers: {x-user-group: beta}}
              expect: {subset: v1, rule: canary}
            - name: the split is 90/10 (wrong)
              expect: {fractions: {v1: 0.9, v2: 0.1}}
            - name: the split is right
              expect: {fractions: {v1: 0.95, v2: 0.05}, status: 200}
            """
        ) { cases in
            let output = try await MeshsimRunner.run(["test"] + headerRouting + [cases])
            #expect(output.status == 1)
            #expect(output.stdout.contains("FAIL  beta users reach v1 (wrong)  (\(cases):2)"))
            #expect(output.stdout.contains("rule: expected canary, got 0 (beta-users)"))
            #expect(output.stdout.contains("subset: expected all traffic on v1, got {v2: 1.0}"))
            #expect(output.stdout.contains("fractions: expected {v1: 0.9, v2: 0.1}, got {v1: 0.95, v2: 0.05}"))
            #expect(output.stdout.contains("PASS  the split is right"))
            #expect(output.stdout.contains("1 passed, 2 failed"))
        }
    }

    @Test func failUnderGatesOnRuleCoverage() async throws {
        try await withTemporaryFile(
            """
            tests:
            - name: beta users reach v2
              request: {headers: {x-user-group: beta}}
              expect: {subset: v2}
            """
        ) { cases in
            let under = try await MeshsimRunner.run(["test"] + headerRouting + [cases, "--fail-under", "60"])
            #expect(under.status == 1)
            #expect(under.stdout.contains("coverage: 1/2 rules (50%)"))
            #expect(under.stdout.contains(#"not reached: default/reviews rule 1 "canary""#))
            #expect(under.stdout.contains("virtual-service.yaml:21)"))
            #expect(under.stdout.contains("coverage 50% is under --fail-under 60%"))
            let enough = try await MeshsimRunner.run(["test"] + headerRouting + [cases, "--fail-under", "50"])
            #expect(enough.status == 0)
            let none = try await MeshsimRunner.run(["test"] + headerRouting + [cases])
            #expect(none.status == 0)
        }
    }

    @Test func brokenLabelsCaseCatchesThe503() async throws {
        try await withTemporaryFile(
            """
            tests:
            - name: the canary serves
              expect: {status: 200}
            - name: the v2 share fails with no healthy upstream
              expect: {status: 503, responseFlags: UH, fractions: {v1: 0.95, v2: 0.05}}
            """
        ) { cases in
            let output = try await MeshsimRunner.run(["test", "-f", MeshsimRunner.configs("broken-labels"), cases])
            #expect(output.status == 1)
            #expect(output.stdout.contains("status: expected 200, got 503"))
            #expect(output.stdout.contains("PASS  the v2 share fails with no healthy upstream"))
        }
    }

    @Test func everyRolloutStepCanBeAsserted() async throws {
        for (step, v2) in [("00-all-v1.yaml", 0.0), ("05-canary-5.yaml", 0.05), ("25-canary-25.yaml", 0.25), ("50-canary-50.yaml", 0.5), ("100-all-v2.yaml", 1.0)] {
            try await withTemporaryFile(
                """
                tests:
                - name: step \(step)
                  request: {authority: reviews}
                  expect: {status: 200, fractions: {v1: \(1 - v2), v2: \(v2)}}
                """
            ) { cases in
                let output = try await MeshsimRunner.run(["test", "-f", MeshsimRunner.configs("reviews"), "-f", MeshsimRunner.configs("rollout/\(step)"), cases, "--fail-under", "100"])
                #expect(output.status == 0, "\(step): \(output.stdout)")
            }
        }
    }

    @Test func malformedCasesFileIsAnErrorWithItsLine() async throws {
        try await withTemporaryFile(
            """
            tests:
            - name: typo
              expect:
                subsett: v2
            """
        ) { cases in
            let output = try await MeshsimRunner.run(["test"] + headerRouting + [cases])
            #expect(output.status == 1)
            #expect(output.stderr.contains("\(cases):4: error:"))
            #expect(output.stderr.contains("subsett"))
        }
        try await withTemporaryFile("tests:\n- name: nothing expected\n  request: {path: /}\n  expect: {}\n") { cases in
            let output = try await MeshsimRunner.run(["test"] + headerRouting + [cases])
            #expect(output.status == 1)
            #expect(output.stderr.contains("expects nothing"))
        }
    }
}
