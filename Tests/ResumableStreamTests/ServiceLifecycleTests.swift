import Logging
import ResumableStream
import ResumableStreamServiceLifecycle
import ServiceLifecycle
import Testing

@Suite("The context as a swift-service-lifecycle Service", .timeLimit(.minutes(1)))
struct ServiceLifecycleTests {
    @Test func gracefulShutdownLetsTheProducerFinishThenRefusesNewStreams() async throws {
        let backend = InMemoryBackend()
        let context = ResumableStreamContext(
            configuration: .init(keyPrefix: "service", shutdownGracePeriod: .seconds(10)),
            publisher: backend, subscriber: backend
        )
        let group = ServiceGroup(configuration: .init(services: [context], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        let writer = Writer()
        let stream = try await context.resumableStream("in-flight", makeStream: writer.source).created()
        writer.write("started before ")
        await group.triggerGracefulShutdown()
        // The producer still runs: the context waits for it, up to the grace period.
        try await Task.sleep(for: .milliseconds(200))
        #expect(context.activeProducerCount == 1)
        await #expect(throws: ResumableStreamError.shuttingDown) {
            try await context.resumableStream("new", makeStream: writer.source)
        }
        writer.write("and finished after the signal")
        writer.close()
        #expect(try await stream.collect() == "started before and finished after the signal")
        try await running.value
        #expect(context.activeProducerCount == 0)
    }
}
