import ResumableStream
import ServiceLifecycle

/// A context is a swift-service-lifecycle `Service`: add it to the application's service group (for a
/// Hummingbird application, its `services:`), and on graceful shutdown (SIGTERM) it stops accepting new
/// streams, lets running producers finish for up to
/// `ResumableStreamConfiguration.shutdownGracePeriod`, stops the rest, ends its followers, closes its Redis
/// connections and returns once every task the context ran (all children of its one task group) has ended: the
/// counterpart of the TypeScript package's `waitUntil`.
extension ResumableStreamContext: Service {
    /// Waits for graceful shutdown (or cancellation), then shuts the context down.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown(gracePeriod: configuration.shutdownGracePeriod)
    }
}
