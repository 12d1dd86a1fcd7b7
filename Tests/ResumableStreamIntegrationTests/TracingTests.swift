import InMemoryTracing
import RedisBridge
import Testing
import Tracing

@testable import ResumableStream

/// Each call that makes or follows a stream is a span: its name is the call, its attributes the stream, the
/// request channel, the skip and the outcome; an error is recorded on it.
@Suite("Tracing", .timeLimit(.minutes(1)))
struct TracingTests {
    @Test func eachCallIsASpanWithTheStreamAndItsOutcome() async throws {
        let tracer = InMemoryTracer()
        let backend = InMemoryBackend()
        let context = ResumableStreamContext(
            configuration: .init(ackTimeout: handshakePatience), publisher: backend, subscriber: backend, tracer: tracer)
        let writer = Writer()
        var own = try await context.resumableStream("traced", makeStream: writer.source).created().makeAsyncIterator()
        writer.write("text")
        #expect(try await own.next() == "text")
        let follower = try await context.resumeExistingStream("traced", skipCharacters: 2).resumed()
        writer.close()
        #expect(try await own.next() == nil)
        #expect(try await follower.collect() == "xt")
        #expect(await context.drain(timeout: .seconds(5)))
        _ = try await context.resumableStream("traced") { AsyncStream<String> { $0.finish() } }
        _ = try await context.resumeExistingStream("missing")
        _ = try await context.createNewResumableStream("replaced") { AsyncStream<String> { $0.finish() } }
        await context.shutdown(gracePeriod: .seconds(5))

        let spans = tracer.finishedSpans.map { span in
            (
                span.operationName, span.kind, span.attributes[StreamTracing.streamIDAttribute]?.toSpanAttribute(),
                span.attributes[StreamTracing.skipAttribute]?.toSpanAttribute(), span.attributes[StreamTracing.outcomeAttribute]?.toSpanAttribute()
            )
        }
        let expected: [(String, SpanKind, SpanAttribute?, SpanAttribute?, SpanAttribute?)] = [
            ("resumableStream", .internal, .string("traced"), nil, .string("created")),
            ("resumeExistingStream", .consumer, .string("traced"), .int64(2), .string("resumed")),
            ("resumableStream", .internal, .string("traced"), nil, .string("already_done")),
            ("resumeExistingStream", .consumer, .string("missing"), nil, .string("not_found")),
            ("createNewResumableStream", .producer, .string("replaced"), nil, .string("created")),
        ]
        #expect(spans.count == expected.count)
        for (span, want) in zip(spans, expected) {
            #expect(span.0 == want.0 && span.1 == want.1 && span.2 == want.2 && span.3 == want.3 && span.4 == want.4, "\(span)")
        }
        let channel = tracer.finishedSpans.first?.attributes["messaging.destination.name"]?.toSpanAttribute()
        #expect(channel == .string(StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "traced").requests))
    }

    /// A call that fails (here, Redis cannot be reached) ends its span with the error and no outcome.
    @Test func aFailedCallRecordsItsError() async throws {
        let tracer = InMemoryTracer()
        let context = ResumableStreamContext(redis: try RedisConfiguration(url: "redis://127.0.0.1:1"), tracer: tracer)
        await #expect(throws: (any Error).self) { try await context.resumeExistingStream("unreachable") }
        await context.shutdown(gracePeriod: .seconds(1))
        let span = try #require(tracer.finishedSpans.first)
        #expect(span.operationName == "resumeExistingStream")
        #expect(span.errors.count == 1)
        #expect(span.attributes[StreamTracing.outcomeAttribute]?.toSpanAttribute() == nil)
    }
}
