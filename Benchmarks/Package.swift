// swift-tools-version:6.1
// Benchmarks live in their own package so that the root package does not depend on
// package-benchmark (and its malloc interposer). Run: cd Benchmarks && swift package benchmark
import PackageDescription

let package = Package(
    name: "meshsim-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise known by its directory name.
        .package(name: "meshsim", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "RoutingBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MeshRouting", package: "meshsim"),
                .product(name: "MeshConfig", package: "meshsim"),
            ],
            path: "RoutingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
