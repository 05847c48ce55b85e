import Foundation
import NIOCore
import MeshBackends
import MeshConfig
import NIOPosix
import Testing

@Suite struct BackendFleetTests {
    static let configs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("configs")

    static func load(_ relatives: String...) throws -> MeshResources {
        let result = ConfigLoader().load(paths: relatives.map { configs.appendingPathComponent($0).path })
        #expect(!result.hasErrors, "\(result.errors)")
        return result.resources
    }

    /// Starts a fleet, runs `body`, and shuts the fleet down whatever happens.
    static func withFleet<T>(_ resources: MeshResources, seed: UInt64 = 1, drainPeriod: TimeAmount = .seconds(5), _ body: (BackendFleet) async throws -> T) async throws -> T {
        let fleet = try await BackendFleet.start(resources: resources, group: MultiThreadedEventLoopGroup.singleton, seed: seed, drainPeriod: drainPeriod)
        do {
            let result = try await body(fleet)
            try await fleet.shutdown()
            return result
        } catch {
            try? await fleet.shutdown()
            throw error
        }
    }

    static func get(_ address: SimulatedPodAddress, path: String = "/") async throws -> CurlResponse? {
        CurlResponse(try await curl(["-D", "-", "http://\(address.host):\(address.port)\(path)"]).stdout)
    }

    @Test func reviewsStartsFourPodsThatAnswerAsThemselves() async throws {
        let resources = try Self.load("reviews")
        try await Self.withFleet(resources) { fleet in
            let addresses = fleet.addresses
            #expect(addresses.keys.sorted() == ["default/reviews-v1-0", "default/reviews-v1-1", "default/reviews-v2-0", "default/reviews-v2-1"])
            #expect(Set(addresses.values.map(\.port)).count == 4)
            for (key, address) in addresses {
                let version = key.contains("-v1-") ? "v1" : "v2"
                #expect(address.identity.version == version)
                #expect(address.identity.workload == "reviews-\(version)")
                #expect(address.identity.namespace == "default")
                let answer = try await Self.get(address)
                let response = try #require(answer)
                #expect(response.status == 200)
                #expect(response.headers["x-meshsim-pod"] == address.identity.pod)
                #expect(response.headers["x-meshsim-version"] == version)
                #expect(response.headers["x-meshsim-workload"] == "reviews-\(version)")
            }
            // The annotations of configs/reviews reach the pods.
            let v2 = try #require(fleet.backends["default/reviews-v2-0"])
            #expect(v2.profile.maxConcurrency == 40)
            #expect(abs(v2.profile.latency.quantile(0.99) / 30e6 - 1) < 1e-6)
            let v1 = try #require(fleet.backends["default/reviews-v1-0"])
            #expect(v1.profile.maxConcurrency == nil)
            #expect(abs(v1.profile.latency.quantile(0.5) / 4e6 - 1) < 1e-6)
            #expect(fleet.stats.values.map(\.requestsServed).reduce(0, +) == 4)
        }
    }

    @Test func routingOnlyChangesKeepEveryPodOnItsPort() async throws {
        try await Self.withFleet(try Self.load("reviews", "rollout/00-all-v1.yaml")) { fleet in
            let before = fleet.addresses
            for step in ["rollout/05-canary-5.yaml", "rollout/50-canary-50.yaml", "rollout/100-all-v2.yaml"] {
                try await fleet.update(to: try Self.load("reviews", step))
                #expect(fleet.addresses == before, "after \(step)")
            }
        }
    }

    /// A rollout's workload side: v1 scales down, v2 changes behaviour, v3 appears.
    @Test func updateStartsNewPodsStopsGoneOnesAndKeepsTheRest() async throws {
        let initial = try Self.load("reviews")
        var next = initial
        for i in next.deployments.indices {
            if next.deployments[i].name == "reviews-v1" { next.deployments[i].spec.replicas = 1 }
            if next.deployments[i].name == "reviews-v2" {
                next.deployments[i].spec.template?.metadata?.annotations?["meshsim.dev/body-bytes"] = "64"
            }
        }
        var v3 = try #require(initial.deployments.first { $0.name == "reviews-v2" })
        v3.metadata.name = "reviews-v3"
        v3.spec.replicas = 1
        v3.spec.template?.metadata?.labels?["version"] = "v3"
        v3.spec.template?.metadata?.annotations = [:]
        next.deployments.append(v3)

        try await Self.withFleet(initial) { fleet in
            let before = fleet.addresses
            let goneAddress = try #require(before["default/reviews-v1-1"])
            try await fleet.update(to: next)
            let after = fleet.addresses
            #expect(after.keys.sorted() == ["default/reviews-v1-0", "default/reviews-v2-0", "default/reviews-v2-1", "default/reviews-v3-0"])
            for key in ["default/reviews-v1-0", "default/reviews-v2-0", "default/reviews-v2-1"] {
                #expect(after[key]?.port == before[key]?.port, "\(key) moved")
            }
            let v3Address = try #require(after["default/reviews-v3-0"])
            #expect(v3Address.identity.version == "v3")
            let v3 = try await Self.get(v3Address)
            #expect(v3?.headers["x-meshsim-version"] == "v3")
            // The kept v2 pods answer with their new profile on the same port.
            let v2Address = try #require(after["default/reviews-v2-0"])
            let v2Answer = try await Self.get(v2Address)
            let v2 = try #require(v2Answer)
            #expect(v2.headers["content-length"] == "64")
            // The gone pod no longer listens.
            let refused = try await curl(["http://127.0.0.1:\(goneAddress.port)/"], timeout: 5)
            #expect(refused.status != 0)
        }
    }

    /// A pod removed by an update finishes the request it holds, like a terminating pod.
    @Test func removedPodDrainsItsRequestInFlight() async throws {
        var initial = try Self.load("reviews")
        let index = try #require(initial.deployments.firstIndex { $0.name == "reviews-v1" })
        // Long enough that a busy 2-core machine still sees the request in flight before the update.
        initial.deployments[index].spec.template?.metadata?.annotations = ["meshsim.dev/latency": "8s"]
        var scaledDown = initial
        scaledDown.deployments[index].spec.replicas = 1

        try await Self.withFleet(initial, drainPeriod: .seconds(30)) { fleet in
            let leaving = try #require(fleet.addresses["default/reviews-v1-1"])
            let pod = try #require(fleet.backends["default/reviews-v1-1"])
            let client = try await RawHTTPClient.connect(port: leaving.port)
            try await client.send("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")
            #expect(try await waitUntil { pod.stats.inFlight == 1 })
            try await fleet.update(to: scaledDown)
            #expect(fleet.addresses["default/reviews-v1-1"] == nil)
            let answer = try await client.responses(1)
            #expect(answer.first?.status == 200)
            #expect(answer.first?.headers["x-meshsim-pod"] == "reviews-v1-1")
            #expect(answer.first?.headers["connection"] == "close")
            #expect(try await client.waitForClose())
        }
    }

    @Test func badAnnotationIsReportedWithFileAndLineAndChangesNothing() async throws {
        let initial = try Self.load("reviews")
        var broken = initial
        let index = try #require(broken.deployments.firstIndex { $0.name == "reviews-v2" })
        broken.deployments[index].spec.template?.metadata?.annotations?["meshsim.dev/error-rate"] = "lots"

        await #expect(throws: BackendFleetError.self) {
            try await BackendFleet.start(resources: broken, group: MultiThreadedEventLoopGroup.singleton)
        }
        do {
            _ = try BackendFleet.pods(of: broken, seed: 1)
            Issue.record("bad annotation accepted")
        } catch let error as BackendFleetError {
            let text = error.description
            #expect(text.contains("deployment-v2.yaml:"))
            #expect(text.contains("Deployment default/reviews-v2"))
            #expect(text.contains("meshsim.dev/error-rate"))
            #expect(text.contains("\"lots\""))
        }

        try await Self.withFleet(initial) { fleet in
            let before = fleet.addresses
            await #expect(throws: BackendFleetError.self) { try await fleet.update(to: broken) }
            #expect(fleet.addresses == before)
            let v2Address = try #require(before["default/reviews-v2-0"])
            let v2 = try await Self.get(v2Address)
            #expect(v2?.status == 200)
        }
    }

    @Test func podSeedsFollowTheRunSeed() throws {
        let resources = try Self.load("reviews")
        let one = try BackendFleet.pods(of: resources, seed: 1)
        #expect(try BackendFleet.pods(of: resources, seed: 1) == one)
        let two = try BackendFleet.pods(of: resources, seed: 2)
        #expect(one["default/reviews-v1-0"]?.seed != two["default/reviews-v1-0"]?.seed)
        #expect(one["default/reviews-v1-0"]?.seed != one["default/reviews-v1-1"]?.seed)
    }
}
