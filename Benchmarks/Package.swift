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
        // ProxyBenchmarks drives the proxy with its own clients (NIO event loops, EmbeddedChannel).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
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
        ),
        // End to end through LocalMesh (client → proxy → simulated pods, HTTP/1.1 and h2c) with
        // direct-to-pod baselines, plus the HTTP/2 codec round trip; public API only.
        .executableTarget(
            name: "ProxyBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MeshProxy", package: "meshsim"),
                .product(name: "MeshHTTP2", package: "meshsim"),
                .product(name: "MeshRouting", package: "meshsim"),
                .product(name: "MeshConfig", package: "meshsim"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "ProxyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
