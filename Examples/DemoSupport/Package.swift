// swift-tools-version:6.1
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which is whatever the clone of the library is called.
let library = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.lastPathComponent

// What the example servers share and no web framework needs: the demo's token source, its settings, its
// answers, the chat routes and their model upstream, its page, its metrics and its trace export. Each example keeps only its framework's routing.
let package = Package(
    name: "DemoSupport",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DemoSupport", targets: ["DemoSupport"])
    ],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        // The chat's model upstream, an OpenAI-compatible endpoint.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.65.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // OTLP over HTTP (its default protocol) only: the gRPC exporter would add grpc-swift to both builds.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.0.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .target(
            name: "DemoSupport",
            dependencies: [
                .product(name: "ResumableStream", package: library),
                .product(name: "RedisBridge", package: library),
                .product(name: "ResumableStreamAISDK", package: library),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OTel", package: "swift-otel"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
