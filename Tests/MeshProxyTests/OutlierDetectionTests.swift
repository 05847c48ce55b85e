import Foundation
import MeshProxy
import MeshTestSupport
import NIOConcurrencyHelpers
import Testing

/// Outlier detection through the proxy, against simulated pods on real sockets: which endpoint
/// is ejected when, what traffic does meanwhile, and how it comes back.
@Suite struct OutlierDetectionTests {
    /// The proxy's outlier events and the test's responses, in the order they happened.
    final class Timeline: Sendable {
        enum Entry: Sendable {
            case event(ProxyEvent)
            /// `pod` is nil for an answer the proxy gave itself.
            case response(status: Int, pod: String?)
        }

        private let entries = NIOLockedValueBox<[Entry]>([])

        var all: [Entry] { entries.withLockedValue { $0 } }
        var events: [ProxyEvent] {
            all.compactMap { if case .event(let event) = $0 { return event } else { return nil } }
        }

        func record(_ entry: Entry) { entries.withLockedValue { $0.append(entry) } }

        func configuration(workers: Int = 1) -> ProxyConfiguration {
            var configuration = TestMesh.configuration(workers: workers)
            configuration.eventLog = { [self] event in record(.event(event)) }
            return configuration
        }

        /// Sends one request and records its answer.
        @discardableResult
        func send(_ mesh: LocalMesh, host: String = "ratings", path: String = "/") async throws -> MeshResponse {
            let response = try await mesh.send(host: host, path: path)
            record(.response(status: response.status, pod: response.headers.first(name: "x-meshsim-pod")))
            return response
        }

        func count(_ kind: ProxyEvent.Kind) -> Int { events.filter { $0.kind == kind }.count }

        /// Pods that answered requests sent after the `n`th ejection, up to the return that
        /// follows it (or the end). Requests are sequential: the answer that caused the ejection
        /// is the first one recorded after its event, and is left out.
        func podsWhileEjected(ejection n: Int = 1) -> [String?] {
            var seen = 0
            var inside = false
            var skippedCause = false
            var pods: [String?] = []
            for entry in all {
                switch entry {
                case .event(let event) where event.kind == .outlierEjected:
                    seen += 1
                    if seen == n { inside = true }
                case .event(let event) where event.kind == .outlierReturned:
                    if inside { return pods }
                case .response(_, let pod) where inside:
                    if skippedCause { pods.append(pod) } else { skippedCause = true }
                default:
                    break
                }
            }
            return pods
        }
    }

    static let cluster = "outbound|9080||ratings.default.svc.cluster.local"
    static let alwaysFailing = ["meshsim.dev/error-rate": "100%", "meshsim.dev/error-code": "503"]

    /// `ratings` with the given pods, round robin, retries off (one attempt per request, so each
    /// answer is one result for the detector), and `outlier` as the DestinationRule's settings.
    static func ratings(versions: [String: [String: String]], outlier: String) -> String {
        TestMesh.service("ratings", versions: versions) + "---\n"
            + FixtureYAML.documents(
                FixtureYAML.destinationRule(
                    "ratings",
                    spec: """
                        trafficPolicy:
                          loadBalancer: {simple: ROUND_ROBIN}
                          outlierDetection: \(outlier)
                        """),
                FixtureYAML.virtualService(
                    "ratings",
                    http: """
                        - route: [{destination: {host: ratings}}]
                          retries: {attempts: 0}
                        """))
    }

    @Test func threeErrorsInARowEjectThePodAndTrafficGoesToTheOther() async throws {
        let timeline = Timeline()
        let yaml = Self.ratings(
            versions: ["v1": [:], "v2": Self.alwaysFailing], outlier: "{consecutive5xxErrors: 3, maxEjectionPercent: 100}")
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration()) { mesh in
            // Round robin alternates the pods: v2's third 503 ejects it.
            for _ in 0..<20 where timeline.count(.outlierEjected) == 0 { try await timeline.send(mesh) }
            let ejection = try #require(timeline.events.first)
            #expect(ejection.kind == .outlierEjected && ejection.pod == "ratings-v2-0" && ejection.reason == "consecutive_5xx")
            #expect(ejection.cluster == Self.cluster && ejection.ejections == 1 && ejection.duration == .seconds(30))
            #expect(ejection.description.hasPrefix("info: outlier detection: ejected ratings-v2-0 ("))
            let beforeEjection = timeline.all.compactMap { entry -> String? in
                if case .response(_, let pod) = entry { return pod } else { return nil }
            }
            #expect(beforeEjection.filter { $0 == "ratings-v2-0" }.count == 3)
            // For the 30s of Istio's default baseEjectionTime, every request goes to v1.
            for _ in 0..<10 { try await timeline.send(mesh) }
            let whileEjected = timeline.podsWhileEjected()
            #expect(whileEjected.count == 10 && whileEjected.allSatisfy { $0 == "ratings-v1-0" }, "\(whileEjected)")
        }
    }

    @Test func theSweepReturnsThePodAfterBaseEjectionTime() async throws {
        let timeline = Timeline()
        let yaml = Self.ratings(
            versions: ["v1": [:], "v2": Self.alwaysFailing],
            outlier: "{consecutive5xxErrors: 3, interval: 100ms, baseEjectionTime: 300ms, maxEjectionPercent: 100}")
        // Two workers: one sweep for the cluster returns the pod to both.
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration(workers: 2)) { mesh in
            for _ in 0..<20 where timeline.count(.outlierEjected) == 0 { try await timeline.send(mesh) }
            #expect(timeline.count(.outlierEjected) == 1)
            // No traffic is needed: the interval timer returns the pod on its own.
            let returned = await TestMesh.waitUntil(seconds: 20) { timeline.count(.outlierReturned) > 0 }
            #expect(returned)
            let comeback = try #require(timeline.events.first { $0.kind == .outlierReturned })
            #expect(comeback.pod == "ratings-v2-0" && comeback.reason == "ejection time elapsed")
            #expect(comeback.duration >= .milliseconds(300))

            // Back in service it gets traffic again, fails three more times, and is ejected again
            // (for twice as long, unless an interval passed in service first and the backoff
            // decayed: the unit tests pin that down with synthetic time).
            let ejectedAgain = try await TestMesh.waitUntil(seconds: 20) {
                try await timeline.send(mesh)
                return timeline.count(.outlierEjected) > 1
            }
            #expect(ejectedAgain)
            // One return before the second ejection (a slow loop may already see that ejection's
            // own return: the 300 or 600 ms run on whatever the machine's load leaves this test).
            let events = timeline.events
            let secondIndex = try #require(events.indices.filter { events[$0].kind == .outlierEjected }.dropFirst().first)
            #expect(events[..<secondIndex].filter { $0.kind == .outlierReturned }.count == 1)
            let second = events[secondIndex]
            #expect(second.ejections == 2)
            #expect(second.duration == .milliseconds(600) || second.duration == .milliseconds(300))
            let stats = await mesh.proxy.collectStats()
            #expect(stats.clusters[Self.cluster]?.outlierDetection?.ejectionsEnforcedConsecutive5xx == 2)
        }
    }

    @Test func aSuccessResetsTheCountAndTheLastPodEjectedLeavesNoHealthyUpstream() async throws {
        let timeline = Timeline()
        let yaml = Self.ratings(versions: ["v1": [:]], outlier: "{consecutive5xxErrors: 3, maxEjectionPercent: 100}")
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration()) { mesh in
            // /status/NNN makes the pod answer NNN: two errors, a success, two errors.
            for path in ["/status/503", "/status/500", "/", "/status/503", "/status/502"] {
                let response = try await timeline.send(mesh, path: path)
                #expect(response.headers.first(name: "x-meshsim-pod") == "ratings-v1-0")
            }
            #expect(timeline.count(.outlierEjected) == 0)
            let third = try await timeline.send(mesh, path: "/status/504")
            #expect(third.status == 504 && third.headers.first(name: "x-meshsim-pod") == "ratings-v1-0")
            #expect(timeline.count(.outlierEjected) == 1)
            // Its only pod out and Istio's panic threshold 0: Envoy's 503 UH.
            let refused = try await timeline.send(mesh)
            #expect(refused.status == 503 && refused.body == "no healthy upstream")
            #expect(refused.headers.first(name: "x-meshsim-pod") == nil)
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.cluster, responseCode: 503, flags: .noHealthyUpstream) == 1)
        }
    }

    @Test func gatewayErrorsEjectOnlyFor502To504InARow() async throws {
        let timeline = Timeline()
        let yaml = Self.ratings(
            versions: ["v1": [:]], outlier: "{consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100}")
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration()) { mesh in
            for path in ["/status/500", "/status/500", "/status/500", "/status/500", "/status/500", "/status/502", "/status/500", "/status/504"] {
                #expect(try await timeline.send(mesh, path: path).headers.first(name: "x-meshsim-pod") == "ratings-v1-0")
            }
            #expect(timeline.count(.outlierEjected) == 0)
            try await timeline.send(mesh, path: "/status/503")
            #expect(timeline.events.map(\.reason) == ["consecutive_gateway_failure"])
            #expect(try await timeline.send(mesh).body == "no healthy upstream")
            let outlier = await mesh.proxy.collectStats().clusters[Self.cluster]?.outlierDetection
            #expect(outlier?.ejectionsEnforcedConsecutiveGatewayFailure == 1)
            #expect(outlier?.ejectionsEnforcedConsecutive5xx == 0)
        }
    }

    @Test func maxEjectionPercentKeepsTheOtherFailingPodInService() async throws {
        let timeline = Timeline()
        let yaml = Self.ratings(
            versions: ["v1": Self.alwaysFailing, "v2": Self.alwaysFailing],
            outlier: "{consecutive5xxErrors: 2, maxEjectionPercent: 50}")
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration()) { mesh in
            for _ in 0..<12 { try await timeline.send(mesh) }
            // One of two pods may be out (50%); the second would make 100%.
            #expect(timeline.count(.outlierEjected) == 1)
            let ejected = try #require(timeline.events.first?.pod)
            let others = timeline.podsWhileEjected().compactMap { $0 }
            #expect(!others.isEmpty && !others.contains(ejected))
            let cluster = try #require(await mesh.proxy.collectStats().clusters[Self.cluster])
            #expect(cluster.outlierEjectionsActive == 1)
            #expect(cluster.outlierDetection?.ejectionsEnforcedTotal == 1)
            #expect((cluster.outlierDetection?.ejectionsOverflow ?? 0) >= 1)
        }
    }

    @Test func istiosDefaultTenPercentEjectsNoneOfTwoPods() async throws {
        let timeline = Timeline()
        let yaml = Self.ratings(versions: ["v1": [:], "v2": Self.alwaysFailing], outlier: "{consecutive5xxErrors: 2}")
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration()) { mesh in
            for _ in 0..<20 { try await timeline.send(mesh) }
            #expect(timeline.count(.outlierEjected) == 0)
            let pods = timeline.all.compactMap { entry -> String? in
                if case .response(_, let pod) = entry { return pod } else { return nil }
            }
            #expect(pods.filter { $0 == "ratings-v2-0" }.count == 10)
            let outlier = await mesh.proxy.collectStats().clusters[Self.cluster]?.outlierDetection
            // Every second 503 reaches the threshold, every fifth also Envoy's unenforced gateway
            // threshold: each detection is refused by the 10% bound (1 of 2 hosts is 50%).
            #expect(outlier?.ejectionsDetectedConsecutive5xx == 5)
            #expect(outlier?.ejectionsDetectedConsecutiveGatewayFailure == 2)
            #expect(outlier?.ejectionsOverflow == 7)
            #expect(outlier?.ejectionsEnforcedTotal == 0)
        }
    }

    @Test func belowMinHealthPercentTheBalancerPanicsAndUsesTheEjectedPodToo() async throws {
        let timeline = Timeline()
        let yaml = Self.ratings(
            versions: ["v1": [:], "v2": Self.alwaysFailing],
            outlier: "{consecutive5xxErrors: 2, maxEjectionPercent: 100, minHealthPercent: 60}")
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration()) { mesh in
            for _ in 0..<4 { try await timeline.send(mesh) }
            #expect(timeline.count(.outlierEjected) == 1)
            for _ in 0..<6 { try await timeline.send(mesh) }
            // 1 of 2 healthy is 50% < 60%: Envoy ignores the ejection and balances over both.
            let pods = timeline.podsWhileEjected()
            #expect(pods.count == 6)
            #expect(pods.filter { $0 == "ratings-v2-0" }.count == 3 && pods.filter { $0 == "ratings-v1-0" }.count == 3, "\(pods)")
            let outlier = await mesh.proxy.collectStats().clusters[Self.cluster]?.outlierDetection
            #expect(outlier?.healthyPanic == 6)
        }
    }

    @Test func connectFailuresCountAs5xxUnlessSplit() async throws {
        let refusing = try RefusingPort()
        let port = refusing.port
        defer { withExtendedLifetime(refusing) {} }
        let cluster = "outbound|\(port)||dead.example"
        func yaml(_ outlier: String) -> String {
            FixtureYAML.documents(
                UpstreamFailureTests.deadService(port: port),
                FixtureYAML.destinationRule("dead", host: "dead.example", spec: "trafficPolicy: {outlierDetection: \(outlier)}"))
        }
        // Istio's default retries make three connect attempts per request: three 503s in a row.
        try await TestMesh.with(yaml: yaml("{consecutive5xxErrors: 3, maxEjectionPercent: 100}")) { mesh in
            #expect(try await mesh.send(host: "dead.example").status == 503)
            let refused = try await mesh.send(host: "dead.example")
            #expect(refused.body == "no healthy upstream")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.clusters[cluster]?.connectFailures == 3)
            #expect(stats.clusters[cluster]?.outlierDetection?.ejectionsEnforcedConsecutive5xx == 1)
        }
        let split = yaml("{splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 5, consecutive5xxErrors: 3, maxEjectionPercent: 100}")
        try await TestMesh.with(yaml: split) { mesh in
            let first = try await mesh.send(host: "dead.example")
            #expect(first.status == 503)
            // The fifth failure ejects; the request's last retry finds no healthy host.
            let second = try await mesh.send(host: "dead.example")
            #expect(second.body == "no healthy upstream")
            let stats = await mesh.proxy.collectStats()
            #expect(stats.clusters[cluster]?.connectFailures == 5)
            #expect(stats.clusters[cluster]?.outlierDetection?.ejectionsEnforcedConsecutiveLocalOriginFailure == 1)
            #expect(stats.clusters[cluster]?.outlierDetection?.ejectionsEnforcedConsecutive5xx == 0)
        }
    }

    @Test func reloadsKeepEjectionsUnlessTheOutlierSettingsChange() async throws {
        let timeline = Timeline()
        let yaml = Self.ratings(versions: ["v1": [:]], outlier: "{consecutive5xxErrors: 1, maxEjectionPercent: 100}")
        // Two workers: the detector (and its ejection) is the cluster's, not one loop's.
        try await TestMesh.with(yaml: yaml, configuration: timeline.configuration(workers: 2)) { mesh in
            try await timeline.send(mesh, path: "/status/503")
            #expect(timeline.count(.outlierEjected) == 1)
            // A change elsewhere (a route timeout) keeps the cluster's detection and its ejection,
            // on both workers (each request a new connection, the loops taking turns).
            try await mesh.apply(resources: try TestMesh.resources(yaml.replacingOccurrences(
                of: "retries: {attempts: 0}", with: "retries: {attempts: 0}\n    timeout: 5s")))
            for _ in 0..<2 { #expect(try await timeline.send(mesh).body == "no healthy upstream") }
            // New outlier settings start afresh, as Envoy's new cluster would: the pod returns once.
            try await mesh.apply(resources: try TestMesh.resources(yaml.replacingOccurrences(
                of: "consecutive5xxErrors: 1", with: "consecutive5xxErrors: 2")))
            let comeback = try #require(timeline.events.last)
            #expect(comeback.kind == .outlierReturned && comeback.reason == "outlier detection settings changed")
            #expect(timeline.count(.outlierReturned) == 1)
            for _ in 0..<2 {
                let answer = try await timeline.send(mesh)
                #expect(answer.status == 200 && answer.headers.first(name: "x-meshsim-pod") == "ratings-v1-0")
            }
        }
    }

    /// configs/outlier-detection: the canary user's question, "v2 starts returning 503s: is it
    /// ejected, and what does traffic do then?"
    @Test func exampleEjectsTheFailingCanaryPodWhileRetriesHideItsErrors() async throws {
        let timeline = Timeline()
        try await TestMesh.with(files: [TestConfigs.path("outlier-detection")], configuration: timeline.configuration()) { mesh in
            for _ in 0..<200 where timeline.count(.outlierEjected) == 0 { try await timeline.send(mesh) }
            let ejection = try #require(timeline.events.first)
            #expect(ejection.pod == "ratings-v2-0" && ejection.reason == "consecutive_5xx" && ejection.duration == .seconds(30))
            for _ in 0..<30 { try await timeline.send(mesh) }
            // The v2 pod answered exactly the three requests that ejected it; each was retried on
            // a v1 pod, so every client got a 200 from v1.
            let served = await TestMesh.waitUntil { mesh.fleet.stats["default/ratings-v2-0"]?.requestsServed == 3 }
            #expect(served)
            let answers = timeline.all.compactMap { entry -> (Int, String?)? in
                if case .response(let status, let pod) = entry { return (status, pod) } else { return nil }
            }
            #expect(answers.allSatisfy { $0.0 == 200 && $0.1?.hasPrefix("ratings-v1-") == true })
            let stats = await mesh.proxy.collectStats()
            let cluster = try #require(stats.clusters[Self.cluster])
            #expect(cluster.outlierEjectionsActive == 1)
            #expect(cluster.retries == 3)
        }
    }

    @Test func adminShowsTheEjection() async throws {
        let yaml = Self.ratings(versions: ["v1": [:]], outlier: "{consecutive5xxErrors: 1, maxEjectionPercent: 100}")
        try await AdminHarness.with(yaml: yaml) { harness in
            let pod = try #require(harness.mesh.fleet.addresses["default/ratings-v1-0"])
            let prefix = "\(Self.cluster)::\(pod.host):\(pod.port)::"
            var lines = Set(try await harness.get("/clusters").body.split(separator: "\n").map(String.init))
            #expect(lines.contains(prefix + "health_flags::healthy"))
            #expect(try await harness.mesh.send(host: "ratings", path: "/status/503").status == 503)

            lines = Set(try await harness.get("/clusters").body.split(separator: "\n").map(String.init))
            #expect(lines.contains(prefix + "health_flags::/failed_outlier_check"))
            let stats = Set(try await harness.get("/stats").body.split(separator: "\n").map(String.init))
            for line in ["outlier_detection.ejections_active: 1", "outlier_detection.ejections_enforced_total: 1",
                         "outlier_detection.ejections_enforced_consecutive_5xx: 1", "outlier_detection.ejections_overflow: 0"] {
                #expect(stats.contains("cluster.\(Self.cluster).\(line)"), "missing \(line)")
            }
            let metrics = try await harness.metrics()
            let label = ["cluster_name": Self.cluster]
            #expect(metrics.sum("envoy_cluster_outlier_detection_ejections_active", label) == 1)
            #expect(metrics.sum("envoy_cluster_outlier_detection_ejections_enforced_total", label) == 1)
            #expect(metrics.types["envoy_cluster_outlier_detection_ejections_active"] == "gauge")
            #expect(metrics.types["envoy_cluster_outlier_detection_ejections_enforced_total"] == "counter")

            let dump = try #require(try JSONSerialization.jsonObject(with: Data(try await harness.get("/config_dump").body.utf8)) as? [String: Any])
            let clusters = try #require(dump["clusters"] as? [[String: Any]])
            let outlier = try #require(clusters.first { $0["name"] as? String == Self.cluster }?["outlier_detection"] as? [String: Any])
            #expect(outlier["consecutive_5xx"] as? Int == 1)
            #expect(outlier["enforcing_consecutive_gateway_failure"] as? Int == 0)
            #expect(outlier["max_ejection_percent"] as? Int == 100)
            #expect(outlier["base_ejection_time"] as? String == "30s")
            #expect(outlier["healthy_panic_threshold"] as? Int == 0)
        }
    }
}
