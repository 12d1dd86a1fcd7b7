import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import RedisBridge
import ResumableStream
import ResumableStreamServiceLifecycle

/// The example server: `StreamServer [--port N]`, Redis from `REDIS_URL` (then `KV_URL`).
@main
struct StreamServer {
    static func main() async throws {
        let arguments = ProcessInfo.processInfo.arguments
        let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 8080
        let tokenDelay = Duration.milliseconds(Int(ProcessInfo.processInfo.environment["TOKEN_DELAY_MS"] ?? "") ?? 120)

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
        let streams = ResumableStreamContext(redis: redis, logger: logger)
        let router = Router()
        router.add(middleware: UnavailableMiddleware())
        Routes(streams: streams, tokenDelay: tokenDelay, metricsText: {
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }).register(on: router)

        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "stream-server-\(port)"),
            services: [streams],
            logger: logger
        )
        try await app.runService()
    }
}
