import MetricsTestKit
import Testing

@testable import ResumableStream

@Suite("Metrics", .timeLimit(.minutes(1)))
struct MetricsTests {
    @Test(arguments: Backend.allCases)
    func aStreamAndItsFollowerAreCounted(_ backend: Backend) async throws {
        let metrics = TestMetrics()
        try await withContext(backend, metrics: metrics) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("metered", makeStream: writer.source).created()
            let follower = try await context.resumeExistingStream("metered").resumed()
            #expect(try metrics.expectGauge("resumable_stream.producers.active").lastValue == 1)
            writer.write("métered")
            writer.close()
            #expect(try await producer.collect() == "métered")
            #expect(try await follower.collect() == "métered")
            #expect(await context.drain(timeout: .seconds(5)))
        }
        let streams = "resumable_stream.streams"
        #expect(try metrics.expectCounter(streams, [("event", "created")]).totalValue == 1)
        #expect(try metrics.expectCounter(streams, [("event", "resumed")]).totalValue == 1)
        #expect(try metrics.expectCounter(streams, [("event", "completed")]).totalValue == 1)
        #expect(try metrics.expectCounter(streams, [("event", "failed")]).totalValue == 0)
        #expect(try metrics.expectCounter("resumable_stream.follower.chunks").totalValue == 1)
        #expect(try metrics.expectCounter("resumable_stream.follower.bytes").totalValue == 8)
        #expect(try metrics.expectGauge("resumable_stream.producers.active").lastValue == 0)
        #expect(try metrics.expectTimer("resumable_stream.resume.duration").values.count == 1)
    }
}
