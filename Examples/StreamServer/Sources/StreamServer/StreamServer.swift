import DemoSupport
import Foundation
import Hummingbird
import Logging
import ResumableStream
import ResumableStreamServiceLifecycle

/// The Hummingbird example server: `StreamServer [--port N]`, configured from the environment as
/// ``DemoSettings`` says (`REDIS_URL`, `TOKEN_DELAY_MS`, `RETAIN_SECONDS`, `LOG_SECONDS`, and the chat's model:
/// `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `MODEL`), exporting its spans
/// when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (``TraceExport``).
@main
struct StreamServer {
    static func main() async throws {
        let settings = DemoSettings.fromProcess(program: "stream-server")
        let metrics = DemoMetrics.bootstrap()
        var logger = Logger(label: "stream-server")
        logger.logLevel = .info
        let tracing = TraceExport.bootstrapIfConfigured(serviceName: "stream-server", logger: logger)

        let streams = ResumableStreamContext(redis: settings.redis, configuration: settings.streams, logger: logger)
        let router = Router()
        if tracing != nil {
            // A server span per request, with the library's spans inside it.
            router.add(middleware: TracingMiddleware())
        }
        router.add(middleware: UnavailableMiddleware())
        let endpoints = DemoEndpoints(streams: streams, tokenDelay: settings.tokenDelay, metrics: metrics)
        await endpoints.checkRedis(logger: logger)
        let model = ChatModel(upstream: settings.model, tokenDelay: settings.tokenDelay)
        logger.info("chat answers come from \(model.summary)")
        Routes(endpoints: endpoints, chat: DemoChat(streams: streams, model: model)).register(on: router)

        // The service group stops its services in reverse order on SIGTERM or SIGINT: the HTTP server (after its
        // open responses), then the context (its producers finish for their followers within the grace period),
        // then the trace exporter, which sends the spans of all that.
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: settings.port), serverName: "stream-server-\(settings.port)"),
            services: (tracing.map { [$0] } ?? []) + [streams],
            logger: logger
        )
        try await model.serving { try await app.runService() }
    }
}
