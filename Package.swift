// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "meshsim",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meshsim", targets: ["meshsim"]),
        .library(name: "MeshConfig", targets: ["MeshConfig"]),
        .library(name: "MeshRouting", targets: ["MeshRouting"]),
        .library(name: "MeshHTTP2", targets: ["MeshHTTP2"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
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
        .target(name: "MeshRouting", dependencies: ["MeshConfig", "CRE2"]),
        // libnghttp2 (the HTTP/2 library Envoy was built on) as a Swift module.
        .systemLibrary(
            name: "CNGHTTP2",
            pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]
        ),
        // HTTP/2 wire codec over nghttp2 for NIO: server, client, protocol sniffer, h2c upgrade.
        .target(
            name: "MeshHTTP2",
            dependencies: [
                "CNGHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "meshsim",
            dependencies: [
                "MeshConfig", "MeshRouting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "MeshConfigTests", dependencies: ["MeshConfig"]),
        .testTarget(name: "MeshRoutingTests", dependencies: ["MeshRouting", "MeshConfig"]),
        .testTarget(
            name: "MeshHTTP2Tests",
            dependencies: [
                "MeshHTTP2", "CNGHTTP2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Runs the built binary as a user would; depends on it so that it is built first.
        .testTarget(name: "MeshsimCLITests", dependencies: ["meshsim"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
