import DemoSupport
import Logging
import ResumableStream
import ResumableStreamServiceLifecycle
import ServiceLifecycle
import Vapor

/// The Vapor example server: `VaporStreamServer [--port N]`, configured from the environment as
/// ``DemoSettings`` says (`REDIS_URL`, `TOKEN_DELAY_MS`, `RETAIN_SECONDS`, `LOG_SECONDS`, and the chat's model:
/// `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `MODEL`), exporting its spans
/// when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (``TraceExport``). The same routes and behaviour as the
/// Hummingbird example.
@main
struct VaporStreamServer {
    static func main() async throws {
        let settings = DemoSettings.fromProcess(program: "vapor-stream-server")
        let metrics = DemoMetrics.bootstrap()
        var logger = Logger(label: "vapor-stream-server")
        logger.logLevel = .info
        let tracing = TraceExport.bootstrapIfConfigured(serviceName: "vapor-stream-server", logger: logger)

        let streams = ResumableStreamContext(redis: settings.redis, configuration: settings.streams, logger: logger)
        // Production: error responses do not carry the errors' text. The command line is ours (`--port`), not
        // Vapor's commands'.
        let app = try await Application.make(.production, .singleton, logger: logger)
        app.http.server.configuration.hostname = "127.0.0.1"
        app.http.server.configuration.port = settings.port
        app.http.server.configuration.serverName = "vapor-stream-server-\(settings.port)"
        // Vapor's own request metrics would add series to /metrics that the Hummingbird example does not have.
        app.http.server.configuration.reportMetrics = false
        if tracing != nil {
            // A server span per request, with the library's spans inside it.
            app.middleware.use(TracingMiddleware(), at: .beginning)
            app.traceAutoPropagation = true
        }
        app.middleware.use(UnavailableMiddleware())
        let endpoints = DemoEndpoints(streams: streams, tokenDelay: settings.tokenDelay, metrics: metrics)
        await endpoints.checkRedis(logger: logger)
        let model = ChatModel(upstream: settings.model, tokenDelay: settings.tokenDelay)
        logger.info("chat answers come from \(model.summary)")
        Routes(endpoints: endpoints, chat: DemoChat(streams: streams, model: model)).register(on: app)

        // On SIGTERM or SIGINT the group stops its services in reverse order: the HTTP server (after its open
        // responses), then the context (its producers finish for their followers within the grace period), then
        // the trace exporter, which sends the spans of all that.
        let services: [any Service] = (tracing.map { [$0] } ?? []) + [streams, VaporServer(app: app)]
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await model.serving { try await group.run() }
    }
}
