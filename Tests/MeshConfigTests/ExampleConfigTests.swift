import Foundation
import Testing

@testable import MeshConfig

/// The repository's configs/ directory, found from this file's path.
let configsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("configs").path

@Suite struct ExampleConfigTests {
    @Test(arguments: ["reviews", "header-routing", "broken-labels", "rate-limited-canary", "grpc-canary", "outlier-detection", "dark-launch", "websocket-canary", "rollout/05-canary-5.yaml"])
    func everyExampleDecodesWithoutErrors(example: String) {
        let result = ConfigLoader().load(paths: ["\(configsDirectory)/\(example)"])
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(!result.resources.isEmpty)
    }

    @Test func reviewsWorkloadsFormTwoSubsetsOfTwoPods() {
        let result = ConfigLoader().load(paths: ["\(configsDirectory)/reviews"])
        let registry = ServiceRegistry(result.resources)
        let host = "reviews.default.svc.cluster.local"
        #expect(registry.workloads(forHost: host).count == 4)
        #expect(registry.workloads(forHost: host, selector: ["version": "v2"]).map(\.name) == ["reviews-v2-0", "reviews-v2-1"])
        #expect(registry.service(forHost: host)?.ports.first?.protocol == .http)
    }

    @Test func grpcCanaryPortIsGRPC() {
        let result = ConfigLoader().load(paths: ["\(configsDirectory)/grpc-canary"])
        let registry = ServiceRegistry(result.resources)
        let service = registry.service(forHost: "greeter.default.svc.cluster.local")
        #expect(service?.ports.first?.protocol == .grpc)
        #expect(service?.workloads.map(\.name).sorted() == ["greeter-v1-0", "greeter-v1-1", "greeter-v2-0"])
    }

    @Test func darkLaunchHasTwoV1PodsAndOneV2PodThatFailsTenPercent() throws {
        let result = ConfigLoader().load(paths: ["\(configsDirectory)/dark-launch"])
        let registry = ServiceRegistry(result.resources)
        let host = "httpbin.default.svc.cluster.local"
        #expect(registry.workloads(forHost: host, selector: ["version": "v1"]).map(\.name) == ["httpbin-v1-0", "httpbin-v1-1"])
        let v2Pods = registry.workloads(forHost: host, selector: ["version": "v2"])
        #expect(v2Pods.map(\.name) == ["httpbin-v2-0"])
        let v2 = try #require(v2Pods.first)
        #expect(v2.annotations["meshsim.dev/error-rate"] == "10%")
        #expect(registry.service(forHost: host)?.ports.map(\.number) == [8000])
    }

    @Test func brokenLabelsV2SubsetSelectsNothing() {
        let result = ConfigLoader().load(paths: ["\(configsDirectory)/broken-labels"])
        let registry = ServiceRegistry(result.resources)
        let host = "reviews.default.svc.cluster.local"
        #expect(registry.workloads(forHost: host, selector: ["version": "v2"]).isEmpty)
        #expect(registry.workloads(forHost: host).count == 3)
    }
}
