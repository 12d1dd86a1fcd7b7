// swift-tools-version:6.0
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which is whatever the clone of the library is called.
let library = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.lastPathComponent

// The Vapor example server, the same routes and behaviour as ../StreamServer (Hummingbird): Vapor lives here,
// not in the library's dependency graph; what both examples share is in ../DemoSupport.
let package = Package(
    name: "VaporStreamServer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(path: "../DemoSupport"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.100.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "VaporStreamServer",
            dependencies: [
                .product(name: "ResumableStream", package: library),
                .product(name: "ResumableStreamServiceLifecycle", package: library),
                .product(name: "DemoSupport", package: "DemoSupport"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The Vapor quick start of the server-sent events article, verbatim (make lint checks that they are the same).
        .executableTarget(
            name: "VaporQuickStart",
            dependencies: [
                .product(name: "ResumableStream", package: library),
                .product(name: "Vapor", package: "vapor"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
