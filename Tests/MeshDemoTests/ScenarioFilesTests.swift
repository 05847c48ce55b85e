import Foundation
import MeshBackends
import MeshConfig
import MeshDemo
import MeshLoad
import MeshRouting
import Testing

/// The embedded scenario is the one in configs/demo, loads cleanly, and routes as the demo says.
@Suite struct ScenarioFilesTests {
    static let demoConfigs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("configs")

    static func read(_ relative: String) throws -> String {
        let url = demoConfigs.appendingPathComponent(relative)
        let data = try #require(FileManager.default.contents(atPath: url.path), "missing \(url.path)")
        return String(decoding: data, as: UTF8.self)
    }

    @Test func embeddedTextEqualsConfigsDemo() throws {
        #expect(try Self.read("demo/" + DemoScenario.workloadsFile) == DemoScenario.workloads)
        let mix = ScenarioFilesTests.demoConfigs.deletingLastPathComponent().appendingPathComponent(DemoScenario.repositoryLoadMixFile)
        #expect(String(decoding: try #require(FileManager.default.contents(atPath: mix.path)), as: UTF8.self) == DemoScenario.loadMix)
        for weight in DemoScenario.defaultSteps {
            #expect(try Self.read("demo/" + DemoScenario.rolloutFile(canaryWeight: weight)) == DemoScenario.virtualService(canaryWeight: weight))
        }
        let files = ConfigLoader.configFiles(under: Self.demoConfigs.appendingPathComponent("demo/rollout").path)
        #expect(files.map { URL(fileURLWithPath: $0).lastPathComponent }.sorted()
            == DemoScenario.defaultSteps.map { "v2-\($0).yaml" }.sorted())
    }

    /// The demo's rules are configs/header-routing's: at 5% the VirtualService is the same one.
    @Test func fivePercentStepIsTheHeaderRoutingExample() throws {
        let loader = ConfigLoader()
        let demo = loader.load(text: DemoScenario.virtualService(canaryWeight: 5), file: "demo")
        let example = loader.load(text: try Self.read("header-routing/virtual-service.yaml"), file: "example")
        #expect(!demo.hasErrors && !example.hasErrors)
        let demoService = try #require(demo.resources.virtualServices.first)
        let exampleService = try #require(example.resources.virtualServices.first)
        #expect(demoService.spec == exampleService.spec)
        #expect(demoService.qualifiedName == exampleService.qualifiedName)
    }

    static func snapshot(canaryWeight: Int) throws -> RoutingSnapshot {
        let loader = ConfigLoader()
        var result = loader.load(text: DemoScenario.workloads, file: "workloads.yaml")
        result.merge(loader.load(text: DemoScenario.virtualService(canaryWeight: canaryWeight), file: "routes.yaml"))
        #expect(result.diagnostics.filter { $0.severity != .note }.isEmpty, "\(result.diagnostics)")
        #expect(Validator().validate(result.resources).filter { $0.severity == .error }.isEmpty)
        return try RoutingSnapshot(resources: result.resources)
    }

    @Test(arguments: DemoScenario.defaultSteps)
    func everyStepRoutesBetaToV2AndSplitsTheRest(canaryWeight: Int) throws {
        let snapshot = try Self.snapshot(canaryWeight: canaryWeight)
        let beta = snapshot.explain(RouteRequest(authority: "reviews", headers: [("x-user-group", "beta")]))
        #expect(beta.destinations.filter { $0.fraction > 0 }.map(\.subset) == ["v2"])
        let regular = snapshot.explain(RouteRequest(authority: "reviews"))
        let fractions = Dictionary(regular.destinations.map { ($0.subset ?? "", $0.fraction) }, uniquingKeysWith: +)
        #expect(abs((fractions["v1"] ?? 0) - Double(100 - canaryWeight) / 100) < 1e-9)
        #expect(abs((fractions["v2"] ?? 0) - Double(canaryWeight) / 100) < 1e-9)
    }

    /// The numbers in the workloads' comment: at the default rate the canary's pod is far below its
    /// limit up to 25% and above it at 50%.
    @Test func defaultRateOverloadsTheCanaryFirstAtFiftyPercent() throws {
        let result = ConfigLoader().load(text: DemoScenario.workloads, file: "workloads.yaml")
        let v2 = try #require(result.resources.deployments.first { $0.name == "reviews-v2" })
        let annotations = v2.spec.template?.metadata?.annotations ?? [:]
        let profile = try BehaviorProfile(annotations: annotations)
        let replicas = v2.spec.effectiveReplicas
        let capacity = Double(try #require(profile.maxConcurrency) * replicas)
        let mean = LittlesLaw.meanSeconds(profile.latency)
        #expect(abs(mean - 0.175) < 0.001)
        let classes = try RequestMix.parse(text: DemoScenario.loadMix, file: "load-mix.yaml", defaults: RequestClass())
        let beta = try #require(classes.first { $0.name == DemoRunner.betaClass })
        let mix = Double(beta.weight) / Double(classes.reduce(0) { $0 + $1.weight })
        #expect(abs(mix - 0.1) < 1e-9)
        let rate = DemoSettings().rate
        func inFlight(_ weight: Int) -> Double {
            LittlesLaw.expectedInFlight(rate: rate, canaryWeight: weight, betaShare: mix, meanLatencySeconds: mean)
        }
        for weight in [0, 5, 25] { #expect(inFlight(weight) < 0.65 * capacity, "step \(weight)") }
        #expect(inFlight(50) > capacity)
        #expect(DemoSettings.fast.rate == rate, "--fast keeps the rate that overloads v2 at 50%")
    }
}
