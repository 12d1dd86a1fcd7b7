// swift-tools-version:6.0
import PackageDescription

// Debian's hiredis.pc adds `-D_FILE_OFFSET_BITS=64`, which SwiftPM refuses, with a warning in every build of every
// package that depends on this one. On Linux the headers are under /usr/include (the shim includes
// <hiredis/hiredis.h>), the module map links hiredis, and off_t is 64 bits already: pkg-config is only needed
// where hiredis lives under another prefix (Homebrew's).
#if os(Linux)
let hiredisPkgConfig: String? = nil
#else
let hiredisPkgConfig: String? = "hiredis"
#endif

let package = Package(
    name: "swift-resumable-stream",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ResumableStream", targets: ["ResumableStream"]),
        .library(name: "ResumableStreamServiceLifecycle", targets: ["ResumableStreamServiceLifecycle"]),
        .library(name: "ResumableStreamAISDK", targets: ["ResumableStreamAISDK"]),
        .library(name: "RedisBridge", targets: ["RedisBridge"]),
        .executable(name: "rstream", targets: ["rstream"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        // `swift package generate-documentation` (make docs); a command plugin, not linked into anything.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        // A clock that tests move by hand (`TestClock`); only the integration tests use it.
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: hiredisPkgConfig,
            providers: [.apt(["libhiredis-dev"]), .brew(["hiredis"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        .target(
            name: "RedisBridge",
            dependencies: [
                "CHiredis",
                "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "ResumableStream",
            dependencies: [
                "RedisBridge",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "ResumableStreamServiceLifecycle",
            dependencies: [
                "ResumableStream",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The Vercel AI SDK's UI message stream and `useChat({ resume: true })` routes, over the protocol-agnostic
        // core; no web framework.
        .target(
            name: "ResumableStreamAISDK",
            dependencies: ["ResumableStream"]
        ),
        .executableTarget(
            name: "rstream",
            dependencies: [
                "ResumableStream",
                "RedisBridge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "RedisTestSupport",
            dependencies: ["RedisBridge"]
        ),
        // Unit tests: values, parsers and state machines, without a server.
        .testTarget(
            name: "RedisBridgeTests",
            dependencies: ["RedisBridge"]
        ),
        .testTarget(
            name: "ResumableStreamTests",
            dependencies: ["ResumableStream", .product(name: "Clocks", package: "swift-clocks")]
        ),
        // The AI SDK target's tests: the encoder and the framing without a server, and the chat routes against
        // Redis and in memory (both kinds share the UI message stream parser of the AI SDK's rules).
        .testTarget(
            name: "ResumableStreamAISDKTests",
            dependencies: ["ResumableStreamAISDK", "ResumableStream", "RedisBridge", "RedisTestSupport"]
        ),
        // Integration tests: against real servers (redis-server, TLS, Sentinel, Cluster) that the harness starts.
        .testTarget(
            name: "RedisBridgeIntegrationTests",
            dependencies: ["RedisBridge", "RedisTestSupport"]
        ),
        .testTarget(
            name: "ResumableStreamIntegrationTests",
            dependencies: [
                "ResumableStream", "ResumableStreamServiceLifecycle", "RedisBridge", "RedisTestSupport", "rstream",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Clocks", package: "swift-clocks"),
            ]
        ),
        .executableTarget(
            name: "bench",
            dependencies: ["ResumableStream", "RedisBridge", "RedisTestSupport"],
            path: "Benchmarks/Bench"
        ),
    ],
    swiftLanguageModes: [.v6]
)
