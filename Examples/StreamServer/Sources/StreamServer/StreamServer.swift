import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import RedisBridge
import ResumableStream
import ResumableStreamServiceLifecycle

/// The example server: `StreamServer [--port N]`, Redis from `REDIS_URL` (then `KV_URL`). Finished streams
/// stay resumable for `RETAIN_SECONDS` (600; 0 turns it off); with `LOG_SECONDS` set, each stream also has a
/// durable log, so that the other instance resumes a stream whose producer died.
@main
struct StreamServer {
    static func main() async throws {
        let arguments = ProcessInfo.processInfo.arguments
        let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 8080
        let environment = ProcessInfo.processInfo.environment
        let tokenDelay = Duration.milliseconds(Int(environment["TOKEN_DELAY_MS"] ?? "") ?? 120)
        let retention = Int(environment["RETAIN_SECONDS"] ?? "") ?? 600
        let logRetention = Int(environment["LOG_SECONDS"] ?? "") ?? 0

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: "stream-server")
        logger.logLevel = .info

        let redis: RedisConfiguration
        do {
            redis = try .fromEnvironment()
        } catch {
            // A bad configuration is one line and an exit code, not a backtrace.
            FileHandle.standardError.write(Data("stream-server: \(error)\n".utf8))
            exit(2)
        }
        // A client that drops near the end and comes back after it still gets the rest, from either instance.
        let configuration = ResumableStreamConfiguration(
            finishedStreamRetention: retention > 0 ? .seconds(retention) : nil,
            durableLog: logRetention > 0 ? .init(retention: .seconds(logRetention)) : nil)
        let streams = ResumableStreamContext(redis: redis, configuration: configuration, logger: logger)
        let router = Router()
        router.add(middleware: UnavailableMiddleware())
        Routes(
            streams: streams, tokenDelay: tokenDelay,
            metricsText: {
                var buffer: [UInt8] = []
                registry.emit(into: &buffer)
                return String(decoding: buffer, as: UTF8.self)
            }
        ).register(on: router)

        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "stream-server-\(port)"),
            services: [streams],
            logger: logger
        )
        try await app.runService()
    }
}
