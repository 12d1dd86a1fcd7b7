// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-resumable-stream",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ResumableStream", targets: ["ResumableStream"]),
        .library(name: "RedisBridge", targets: ["RedisBridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"]), .brew(["hiredis"])]
        ),
        .target(
            name: "RedisBridge",
            dependencies: [
                "CHiredis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "ResumableStream",
            dependencies: [
                "RedisBridge",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RedisTestSupport",
            dependencies: ["RedisBridge"]
        ),
        .testTarget(
            name: "RedisBridgeTests",
            dependencies: ["RedisBridge", "RedisTestSupport"]
        ),
        .testTarget(
            name: "ResumableStreamTests",
            dependencies: ["ResumableStream", "RedisBridge", "RedisTestSupport"]
        ),
        .executableTarget(
            name: "bridge-bench",
            dependencies: ["RedisBridge", "RedisTestSupport"],
            path: "Benchmarks/BridgeBenchmark"
        ),
        .executableTarget(
            name: "stream-bench",
            dependencies: ["ResumableStream", "RedisBridge", "RedisTestSupport"],
            path: "Benchmarks/StreamBenchmark"
        ),
    ],
    swiftLanguageModes: [.v6]
)
