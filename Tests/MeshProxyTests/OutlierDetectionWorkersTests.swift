import MeshConfig
import MeshTestSupport
import Testing

@testable import MeshProxy

/// Outlier detection with two workers, as `meshsim serve` runs by default: Envoy counts a host's
/// errors across its workers and ejects it once for the cluster, so the threshold holds however
/// the requests spread over the event loops. Each request goes on a new connection, and the
/// listener hands new connections to the loops in turn.
@Suite struct OutlierDetectionWorkersTests {
    static let cluster = OutlierDetectionTests.cluster

    /// How many answers with `status` each worker forwarded for the ratings cluster.
    static func answersPerWorker(_ mesh: LocalMesh, status: Int, flags: ResponseFlags? = nil) async -> [UInt64] {
        await mesh.proxy.collectStatsByWorker().map { $0.requestCount(cluster: cluster, responseCode: status, flags: flags) }
    }

    @Test func errorsForwardedByBothWorkersEjectThePodAtTheThreshold() async throws {
        let yaml = OutlierDetectionTests.ratings(
            versions: ["v1": [:], "v2": OutlierDetectionTests.alwaysFailing], outlier: "{consecutive5xxErrors: 5, maxEjectionPercent: 100}")
        try await AdminHarness.with(yaml: yaml, configuration: TestMesh.configuration(workers: 2)) { harness in
            let mesh = harness.mesh
            let failing = try #require(mesh.fleet.addresses["default/ratings-v2-0"])
            let flags = "\(Self.cluster)::\(failing.host):\(failing.port)::health_flags::"
            func healthFlags() async throws -> String? {
                try await harness.get("/clusters").body.split(separator: "\n").first { $0.hasPrefix(flags) }.map { String($0.dropFirst(flags.count)) }
            }
            // Round robin on each worker alternates the pods; v1's successes do not reset v2's count.
            var failures = 0
            for _ in 0..<40 where failures < 5 {
                #expect(try await healthFlags() == "healthy", "ejected after \(failures) errors")
                let response = try await mesh.send(host: "ratings")
                if response.headers.first(name: "x-meshsim-pod") == "ratings-v2-0" {
                    #expect(response.status == 503)
                    failures += 1
                }
            }
            #expect(failures == 5)
            // Both workers forwarded some of the five errors, so neither reached the threshold alone.
            let errors = await Self.answersPerWorker(mesh, status: 503)
            #expect(errors.count == 2 && errors.allSatisfy { $0 > 0 } && errors.reduce(0, +) == 5, "\(errors)")
            #expect(try await healthFlags() == "/failed_outlier_check")

            // Every worker's balancer leaves the pod out at once.
            for _ in 0..<6 {
                let response = try await mesh.send(host: "ratings")
                #expect(response.status == 200 && response.headers.first(name: "x-meshsim-pod") == "ratings-v1-0")
            }
            let successes = await Self.answersPerWorker(mesh, status: 200)
            #expect(successes.count == 2 && successes.allSatisfy { $0 >= 3 }, "\(successes)")
        }
    }

    @Test func theLastPodIsEjectedOnceForTheClusterAndEveryWorkerAnswersNoHealthyUpstream() async throws {
        let timeline = OutlierDetectionTests.Timeline()
        let yaml = OutlierDetectionTests.ratings(versions: ["v1": [:]], outlier: "{consecutive5xxErrors: 5, maxEjectionPercent: 100}")
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration(workers: 2)) { mesh in
            for sent in 1...5 {
                let response = try await timeline.send(mesh, path: "/status/503")
                #expect(response.status == 503 && response.headers.first(name: "x-meshsim-pod") == "ratings-v1-0")
                #expect(timeline.count(.outlierEjected) == (sent == 5 ? 1 : 0), "after \(sent) errors")
            }
            let errors = await Self.answersPerWorker(mesh, status: 503)
            #expect(errors.count == 2 && errors.allSatisfy { $0 > 0 }, "\(errors)")
            let ejection = try #require(timeline.events.first)
            #expect(ejection.kind == .outlierEjected && ejection.pod == "ratings-v1-0" && ejection.reason == "consecutive_5xx")

            for _ in 0..<4 { #expect(try await timeline.send(mesh).body == "no healthy upstream") }
            let refusals = await Self.answersPerWorker(mesh, status: 503, flags: .noHealthyUpstream)
            #expect(refusals.count == 2 && refusals.allSatisfy { $0 > 0 } && refusals.reduce(0, +) == 4, "\(refusals)")
            // One ejection for the cluster, whichever worker's request reached the threshold.
            #expect(timeline.count(.outlierEjected) == 1)
            let cluster = try #require(await mesh.proxy.collectStats().clusters[Self.cluster])
            #expect(cluster.outlierEjectionsActive == 1)
            #expect(cluster.outlierDetection?.ejectionsEnforcedTotal == 1)
            #expect(cluster.outlierDetection?.ejectionsDetectedConsecutive5xx == 1)
        }
    }
}
