import Benchmark
import Foundation
import MeshConfig
import MeshRouting

// Route match + weighted pick, the proxy's per-request routing work. Each benchmark iteration
// routes 1000 requests (scalingFactor .kilo), so the reported figures are per decision.

/// configs/ of the repository, found from this file.
let configsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("configs").path

func loadSnapshot(_ paths: [String]) -> RoutingSnapshot {
    let result = ConfigLoader().load(paths: paths.map { "\(configsDirectory)/\($0)" })
    guard !result.hasErrors, let snapshot = try? RoutingSnapshot(resources: result.resources) else {
        preconditionFailure("benchmark configuration does not load: \(result.errors)")
    }
    return snapshot
}

/// A VirtualService with `ruleCount` rules: each but the last matches one tenant by a header
/// regex and goes to v1; the last matches every tenant by regex and splits 90/10.
func largeTableSnapshot(ruleCount: Int) -> RoutingSnapshot {
    var yaml = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: tenants, namespace: default}
        spec:
          hosts: [reviews]
          http:

        """
    for i in 0..<(ruleCount - 1) {
        yaml += """
              - name: tenant-\(i)
                match:
                - headers: {x-tenant: {regex: "tenant-\(String(format: "%04d", i))-[a-z]+"}}
                route: [{destination: {host: reviews, subset: v1}}]

            """
    }
    yaml += """
          - name: everyone
            match:
            - headers: {x-tenant: {regex: "tenant-[0-9]+-[a-z]+"}}
            route:
            - {destination: {host: reviews, subset: v1}, weight: 90}
            - {destination: {host: reviews, subset: v2}, weight: 10}

        """
    var resources = ConfigLoader().load(paths: ["\(configsDirectory)/reviews"]).resources
    let table = ConfigLoader().load(text: yaml, file: "tenants.yaml")
    resources.merge(table.resources)
    guard !table.hasErrors, let snapshot = try? RoutingSnapshot(resources: resources) else {
        preconditionFailure("generated table does not compile: \(table.errors)")
    }
    return snapshot
}

/// Routes `request` `benchmark.scaledIterations` times and checks the answer once.
func routeLoop(_ benchmark: Benchmark, _ snapshot: RoutingSnapshot, _ request: RouteRequest, mode: DestinationPicker.Mode) {
    var picker = DestinationPicker(mode: mode)
    // Warm the picker's counters (exact mode allocates them once per snapshot).
    guard case .forward = snapshot.route(request, picker: &picker) else { preconditionFailure("request is not forwarded") }
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        blackHole(snapshot.route(request, picker: &picker))
    }
    benchmark.stopMeasurement()
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )

    let headerRouting = loadSnapshot(["reviews", "header-routing"])
    let beta = RouteRequest(authority: "reviews", path: "/api/reviews/1", headers: [("user-agent", "curl/8.5"), ("x-user-group", "beta")])
    let others = RouteRequest(authority: "reviews:9080", path: "/api/reviews/1?sort=asc", headers: [("user-agent", "curl/8.5")])

    Benchmark("header-routing: beta header → v2") { benchmark in
        routeLoop(benchmark, headerRouting, beta, mode: .random(seed: 1))
    }
    Benchmark("header-routing: 95/5 split, random pick") { benchmark in
        routeLoop(benchmark, headerRouting, others, mode: .random(seed: 1))
    }
    Benchmark("header-routing: 95/5 split, exact pick") { benchmark in
        routeLoop(benchmark, headerRouting, others, mode: .exact)
    }

    let large = largeTableSnapshot(ruleCount: 100)
    let lastRule = RouteRequest(authority: "reviews", path: "/", headers: [("x-tenant", "tenant-9999-acme")])
    let firstRule = RouteRequest(authority: "reviews", path: "/", headers: [("x-tenant", "tenant-0000-acme")])

    Benchmark("100 header-regex rules: last rule, 90/10 pick") { benchmark in
        routeLoop(benchmark, large, lastRule, mode: .random(seed: 1))
    }
    Benchmark("100 header-regex rules: first rule") { benchmark in
        routeLoop(benchmark, large, firstRule, mode: .random(seed: 1))
    }
}
