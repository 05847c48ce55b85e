// swift-tools-version:6.1
import PackageDescription

/// Release builds of the request path leave out the dynamic exclusivity checks on class and
/// global storage (`swift_beginAccess` on every mutation of a handler's or exchange's field:
/// measured at about 3% of the proxy's CPU). Debug builds, and so the tests, keep them: they
/// catch overlapping accesses. SwiftPM accepts unsafe flags in a root package and in a path
/// dependency (as Benchmarks/ uses this package), not in a dependency fetched by URL.
/// SwiftNIO's own checks (67 per proxied HTTP/1.1 request) can only be dropped from the command
/// line: the scripts' release builds pass the flag to every module (scripts/release-flags.sh).
let requestPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "meshsim",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meshsim", targets: ["meshsim"]),
        .library(name: "MeshConfig", targets: ["MeshConfig"]),
        .library(name: "MeshRouting", targets: ["MeshRouting"]),
        .library(name: "MeshLoad", targets: ["MeshLoad"]),
        .library(name: "MeshProxy", targets: ["MeshProxy"]),
        .library(name: "MeshHTTP2", targets: ["MeshHTTP2"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    ],
    targets: [
        // A C ABI over RE2 (the regex engine of Istio and Envoy); keeps C++ out of Swift modules.
        .target(
            name: "CRE2",
            linkerSettings: [.linkedLibrary("re2"), .linkedLibrary("stdc++")]
        ),
        .target(
            name: "MeshConfig",
            dependencies: ["CRE2", .product(name: "Yams", package: "Yams")]
        ),
        // ASCII case folding of header names and hosts, a word at a time (routing and the codec).
        .target(name: "MeshBytes", swiftSettings: requestPathSettings),
        .target(name: "MeshRouting", dependencies: ["MeshConfig", "MeshBytes", "CRE2"], swiftSettings: requestPathSettings),
        // Simulated workloads (v1, v2, …) with behaviour profiles; the proxy's upstreams in tests and demos.
        .target(
            name: "MeshBackends",
            dependencies: [
                "MeshConfig", "MeshHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                // The frame codec of a pod's WebSocket echo (the handshake is the pod's own).
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        // The load generator (HTTP/1.1 client on its own event loops) and split-accuracy statistics.
        .target(
            name: "MeshLoad",
            dependencies: [
                "MeshRouting", "MeshConfig", "MeshHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                // For the --mix file: composed by Yams, decoded strictly by MeshConfig's NodeDecoder.
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The data plane: listeners, codecs, per-event-loop routing state, upstream pools, stats.
        .target(
            name: "MeshProxy",
            dependencies: [
                "MeshRouting", "MeshConfig", "MeshBackends", "MeshHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                // Only for state Envoy keeps proxy-wide (circuit breakers, the listener's
                // connection cap); per-request counters stay per event loop.
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: requestPathSettings
        ),
        // libnghttp2 (the HTTP/2 library Envoy was built on) as a Swift module.
        .systemLibrary(
            name: "CNGHTTP2",
            pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]
        ),
        // jemalloc as the binaries' malloc (see Sources/CJemalloc/shim.h), linked by the executables
        // only: the libraries stay on whatever allocator their host process uses.
        .systemLibrary(
            name: "CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]
        ),
        // HTTP/2 wire codec over nghttp2 for NIO: server, client, protocol sniffer, h2c upgrade.
        .target(
            name: "MeshHTTP2",
            dependencies: [
                "CNGHTTP2", "MeshBytes",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: requestPathSettings
        ),
        // `meshsim demo`: a canary rollout under load with automatic rollback, over LocalMesh and LoadRun.
        .target(
            name: "MeshDemo",
            dependencies: [
                "MeshProxy", "MeshLoad", "MeshBackends", "MeshRouting", "MeshConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The floor SwiftNIO sets for a proxy (a bare byte relay), measured by scripts/bench-peers.sh.
        .executableTarget(
            name: "nio-relay-floor",
            dependencies: [
                "CJemalloc",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The floor meshsim's HTTP/2 codec sets for an h2c proxy (a stream relay), measured by
        // scripts/bench-h2-peers.sh.
        .executableTarget(
            name: "h2-relay-floor",
            dependencies: [
                "MeshHTTP2", "CJemalloc",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "meshsim",
            dependencies: [
                "MeshConfig", "MeshRouting", "MeshBackends", "MeshLoad", "MeshProxy", "MeshDemo", "CJemalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `meshsim test` reads its CASES.yaml with the same strict decoder as the configs.
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Test support shared by the test targets: child processes over posix_spawn (not
        // Foundation's Process, which crashed under many concurrent launches) and `onOwnThread`.
        // Also Istio YAML for fixtures (FixtureYAML) and an in-process h2c client (H2TestClient).
        .target(
            name: "MeshTestSupport",
            dependencies: [
                "MeshConfig", "MeshHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/MeshTestSupport"),
        .testTarget(name: "MeshTestSupportTests", dependencies: ["MeshTestSupport"]),
        .testTarget(name: "MeshConfigTests", dependencies: ["MeshConfig", "MeshTestSupport"]),
        .testTarget(name: "MeshRoutingTests", dependencies: ["MeshRouting", "MeshConfig", "MeshBytes"]),
        .testTarget(
            name: "MeshBackendsTests",
            dependencies: [
                "MeshBackends", "MeshConfig", "MeshHTTP2", "MeshTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MeshLoadTests",
            dependencies: [
                "MeshLoad", "MeshConfig", "MeshRouting",
                // `load --http2` runs against a simulated h2c pod.
                "MeshBackends",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MeshHTTP2Tests",
            dependencies: [
                "MeshHTTP2", "CNGHTTP2", "MeshTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MeshProxyTests",
            dependencies: [
                "MeshProxy", "MeshRouting", "MeshConfig", "MeshBackends", "MeshHTTP2", "MeshTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "MeshDemoTests", dependencies: ["MeshDemo", "MeshLoad", "MeshProxy", "MeshConfig"]),
        // Runs the built binary as a user would; depends on it so that it is built first.
        .testTarget(name: "MeshsimCLITests", dependencies: ["meshsim", "MeshConfig", "MeshTestSupport"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
