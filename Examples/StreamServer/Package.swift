// swift-tools-version:6.0
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which is whatever the clone of the library is called.
let library = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.lastPathComponent

// The example server: Hummingbird lives here, not in the library's dependency graph; what the Vapor example
// shares with it (the demo's tokens, settings, answers, metrics and trace export) is in ../DemoSupport.
let package = Package(
    name: "StreamServer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(path: "../DemoSupport"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "StreamServer",
            dependencies: [
                .product(name: "ResumableStream", package: library),
                .product(name: "ResumableStreamServiceLifecycle", package: library),
                .product(name: "DemoSupport", package: "DemoSupport"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // The README's quick starts, verbatim (make lint checks that they are the same: scripts/check-snippets.sh).
        .executableTarget(
            name: "QuickStart",
            dependencies: [
                .product(name: "ResumableStream", package: library),
                .product(name: "ResumableStreamServiceLifecycle", package: library),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .executableTarget(
            name: "ChatQuickStart",
            dependencies: [
                .product(name: "ResumableStream", package: library),
                .product(name: "ResumableStreamAISDK", package: library),
                .product(name: "ResumableStreamServiceLifecycle", package: library),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // Every ```swift block of the DocC articles and of the library's doc comments (make lint checks that each is
        // the text of a `// snippet: begin` region of these sources); the chat article's, top-level code like Getting
        // Started's first block, has a main.swift of its own.
        .executableTarget(
            name: "DocSnippets",
            dependencies: [
                .product(name: "ResumableStream", package: library),
                .product(name: "ResumableStreamAISDK", package: library),
                .product(name: "ResumableStreamServiceLifecycle", package: library),
                .product(name: "RedisBridge", package: library),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "ChatDocSnippets",
            dependencies: [
                .product(name: "ResumableStream", package: library),
                .product(name: "ResumableStreamAISDK", package: library),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
