import ServiceLifecycle
import Vapor

/// The Vapor application's HTTP server as a swift-service-lifecycle `Service`, so that it stops in the same
/// service group as the context and the trace exporter, in order. It starts the server itself rather than
/// through Vapor's `serve` command, which would install signal handlers of its own: the group has them.
struct VaporServer: Service {
    let app: Application

    /// Serves until graceful shutdown (or cancellation), then stops accepting connections, lets the open
    /// responses end (within the server's `shutdownTimeout`) and shuts the application down.
    func run() async throws {
        do {
            try await app.asyncBoot()
            try await app.server.start(address: nil)  // the configuration's hostname and port
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try? await gracefulShutdown()
        await app.server.shutdown()
        try await app.asyncShutdown()
    }
}
