// swift-tools-version:6.1
import PackageDescription
import Foundation

// The LSTM's activations are vectorised by the compiler. On x86-64 the Model target is built for
// x86-64-v3 (Haswell, 2013, and later: AVX2 + FMA), which roughly halves their cost; set
// VERTAC_PORTABLE=1 to build for any x86-64 CPU instead. ARM64 always has FMA.
let portable = ProcessInfo.processInfo.environment["VERTAC_PORTABLE"] == "1"
// The numeric targets are optimised in debug builds too: tests train small models, and an
// unoptimised LSTM is some fifty times slower.
var modelSettings: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#if arch(x86_64)
if !portable { modelSettings += [.unsafeFlags(["-target-cpu", "haswell"]), .define("VERTAC_FMA")] }
#elseif arch(arm64)
modelSettings += [.define("VERTAC_FMA")]
#endif

let package = Package(
    name: "VerTac",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vertac-train", targets: ["Trainer"]),
        .executable(name: "vertac-serve", targets: ["Serve"]),
        .executable(name: "vertac-edge", targets: ["Edge"]),
        .library(name: "Model", targets: ["Model"]),
        .library(name: "Inference", targets: ["Inference"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["JSON", "YAML"]),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "Model",
            dependencies: ["CBLAS", "CHDF5"],
            swiftSettings: modelSettings
        ),
        .target(name: "Inference", dependencies: ["Model"], swiftSettings: modelSettings),
        .target(name: "Simulation", dependencies: ["Model"]),
        .target(name: "TrainerKit", dependencies: ["Model", "Inference", "CZlib"], swiftSettings: modelSettings),
        .executableTarget(
            name: "Trainer",
            dependencies: ["Model", "Inference", "TrainerKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "ServeKit",
            dependencies: [
                "Model", "Inference", "CLibPQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            resources: [.copy("Dashboard")]
        ),
        .executableTarget(
            name: "Serve",
            dependencies: ["ServeKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "EdgeKit",
            dependencies: ["Simulation", "Inference", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "WSClient", package: "swift-websocket")]
        ),
        .executableTarget(
            name: "Edge",
            dependencies: ["EdgeKit", "Inference", "Simulation", "TrainerKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "WSClient", package: "swift-websocket"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(name: "ModelTests", dependencies: ["Model", "CHDF5"], resources: [.copy("Fixtures")]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "TrainerKit", "Simulation"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainerKitTests", dependencies: ["TrainerKit", "Simulation"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation"]),
        .testTarget(name: "EdgeKitTests", dependencies: ["EdgeKit", "Simulation"]),
        .testTarget(
            name: "ServeKitTests",
            dependencies: [
                "ServeKit", "Simulation", "TrainerKit", "EdgeKit",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
