import Logging
import RedisTestSupport
import ResumableStream
import ResumableStreamServiceLifecycle
import ServiceLifecycle
import Testing

@Suite("The context as a swift-service-lifecycle Service", .timeLimit(.minutes(1)))
struct ServiceLifecycleTests {
    @Test func gracefulShutdownLetsTheProducerFinishThenRefusesNewStreams() async throws {
        let backend = InMemoryBackend()
        let context = ResumableStreamContext(
            configuration: .init(keyPrefix: "service", ackTimeout: handshakePatience, shutdownGracePeriod: .seconds(10)),
            publisher: backend, subscriber: backend
        )
        let group = ServiceGroup(configuration: .init(services: [context], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        let writer = Writer()
        let stream = try await context.resumableStream("in-flight", makeStream: writer.source).created()
        writer.write("started before ")
        await group.triggerGracefulShutdown()
        // The service group tells the context, which refuses new streams from then on (polled with a call that
        // starts no producer of its own before the shutdown begins)...
        #expect(
            await eventually {
                do {
                    _ = try await context.hasExistingStream("probe")
                    return false
                } catch {
                    return error as? ResumableStreamError == .shuttingDown
                }
            })
        await #expect(throws: ResumableStreamError.shuttingDown) {
            _ = try await context.resumableStream("new") { AsyncStream<String> { $0.finish() } }
        }
        // ...while the running producer goes on: the context waits for it, up to the grace period.
        #expect(context.activeProducerCount == 1)
        writer.write("and finished after the signal")
        writer.close()
        #expect(try await stream.collect() == "started before and finished after the signal")
        try await running.value
        #expect(context.activeProducerCount == 0)
    }
}
