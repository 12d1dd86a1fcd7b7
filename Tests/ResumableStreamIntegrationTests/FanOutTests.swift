import Clocks
import Logging
import Metrics
import RedisTestSupport
import Testing

@testable import ResumableStream

@Suite("Fan-out to followers", .timeLimit(.minutes(1)))
struct FanOutTests {
    /// A producer of stream "s" with one follower, on an `InstrumentedBackend` and a clock that stands still
    /// unless the test moves it.
    private struct FollowedStream {
        let backend: InstrumentedBackend
        let clock: TestClock<Duration>
        let writer: Writer
        let own: ResumableTextStream
        let follower: ResumableTextStream
        /// The follower's chunk channel.
        let channel: String
    }

    /// Runs `body` with a followed stream; then moves the clock past the producer's linger and shuts down.
    private func withFollowedStream(_ body: (FollowedStream) async throws -> Void) async throws {
        let (backend, clock) = (InstrumentedBackend(), TestClock())
        let context = ResumableStreamContext(
            configuration: .init(keyPrefix: "burst", ackTimeout: handshakePatience), publisher: backend, subscriber: backend,
            logger: Logger(label: "burst"), ownedConnections: nil, metricsFactory: MetricsSystem.factory, tracer: nil,
            clock: StreamClock(clock))
        let writer = Writer()
        let own = try await context.resumableStream("s", makeStream: writer.source).created()
        let follower = try await context.resumableStream("s", makeStream: writer.source).resumed()
        let channel = try #require(backend.allPublishes.keys.first { $0.contains(":rs:chunk:") })
        try await body(FollowedStream(backend: backend, clock: clock, writer: writer, own: own, follower: follower, channel: channel))
        try await advanceStepwise(clock) { true }
        await context.shutdown(gracePeriod: .seconds(5))
    }

    /// A burst of chunks appended while the producer's publishes wait (behind a connection busy with other
    /// streams') goes out joined, as one message, whole and in order; then the end. On a clock that stands
    /// still, every chunk comes within the burst interval of the one before it.
    @Test func aBurstThatQueuedBehindABusyConnectionGoesOutAsOneMessage() async throws {
        try await withFollowedStream { stream in
            // The answer to the follower's request: its acknowledgement.
            #expect(stream.backend.publishes(to: stream.channel) == 1)
            stream.backend.holdTakes()
            var own = stream.own.makeAsyncIterator()
            var (written, ownText) = ("", "")
            for index in 0..<50 {
                let chunk = "chunk \(index) é😀 "
                stream.writer.write(chunk)
                written += chunk
                while ownText.count < written.count, let text = try await own.next() { ownText += text }
            }
            #expect(ownText == written)
            #expect(stream.backend.publishes(to: stream.channel) == 1)
            stream.backend.releaseTakes()
            stream.writer.close()
            var followed = ""
            for try await text in stream.follower { followed += text }
            #expect(followed == written)
            // The acknowledgement, the 50 chunks in one message, the end.
            #expect(stream.backend.publishes(to: stream.channel) == 3)
        }
    }

    /// Chunks that come further apart than the burst interval go out one by one, at once.
    @Test func chunksFurtherApartThanABurstGoOutAtOnce() async throws {
        try await withFollowedStream { stream in
            // Held takes would hold back any chunk that waited for one.
            stream.backend.holdTakes()
            var own = stream.own.makeAsyncIterator()
            for index in 1...3 {
                await stream.clock.advance(by: ProducerOutbox.burstInterval)
                stream.writer.write("chunk \(index)")
                _ = try await own.next()
                #expect(stream.backend.publishes(to: stream.channel) == 1 + index)
            }
            stream.backend.releaseTakes()
            stream.writer.close()
            var followed = ""
            for try await text in stream.follower { followed += text }
            #expect(followed == "chunk 1chunk 2chunk 3")
        }
    }

    @Test func followerThatLeftIsDroppedAfterAPublishReachesNobody() async throws {
        let backend = InstrumentedBackend()
        let context = ResumableStreamContext(
            configuration: .init(keyPrefix: "fanout", ackTimeout: handshakePatience), publisher: backend, subscriber: backend)
        let writer = Writer()
        let producer = try await context.resumableStream("s", makeStream: writer.source).created()
        var own = producer.makeAsyncIterator()
        do {
            let follower = try await context.resumableStream("s", makeStream: writer.source).resumed()
            let reader = Task { for try await _ in follower {} }
            reader.cancel()
            _ = await reader.result
        }
        let listenerChannels = { backend.allPublishes.keys.filter { $0.contains(":rs:chunk:") } }
        // The follower has left once its relay dropped the subscription (a task of its own does).
        #expect(
            await eventually {
                for channel in listenerChannels() where (try? await backend.subscriberCount(of: channel)) != 0 { return false }
                return true
            })
        for index in 0..<50 {
            writer.write("chunk \(index)")
            _ = try await own.next()
        }
        writer.close()
        _ = try await own.next()
        #expect(await context.drain(timeout: .seconds(5)))
        // Per listener channel (a slow handshake may have asked twice): the replay, then at most the first
        // chunk that found nobody; not 50 chunks and a DONE.
        #expect(!listenerChannels().isEmpty)
        for channel in listenerChannels() { #expect(backend.publishes(to: channel) <= 3, "\(channel)") }
        await context.shutdown(gracePeriod: .seconds(1))
    }

    /// A follower's stream dropped before its end, never read, ends its relay: the listener channel is
    /// unsubscribed then, not when the producer finishes (which may be minutes later). So is one dropped after a
    /// first read.
    @Test func aFollowersStreamDroppedBeforeItsEndUnsubscribesItsListenerChannel() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis) { context in
                let writer = Writer()
                let producer = try await context.resumableStream("dropped", makeStream: writer.source).created()
                let pattern = "\(context.configuration.keyPrefix):rs:chunk:*"
                let listeners = { try await channels(matching: pattern, via: commands).count }
                do {
                    let unread = try await context.resumeExistingStream("dropped").resumed()
                    var readOnce = try await context.resumeExistingStream("dropped", skipCharacters: 0).resumed().makeAsyncIterator()
                    writer.write("first")
                    #expect(try await readOnce.next() == "first")
                    #expect(try await listeners() == 2)
                    _ = unread
                }
                #expect(await eventually { (try? await listeners()) == 0 })
                writer.write(" last")
                writer.close()
                #expect(try await producer.collect() == "first last")
            }
        }
    }

    /// A resume subscribes to its listener channel while it reads the sentinel: one of an unknown id or of a
    /// finished stream unsubscribes again.
    @Test func aResumeOfAStreamThatDoesNotRunLeavesNoListenerChannel() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis, configure: { $0.finishedStreamRetention = .seconds(60) }) { context in
                let writer = Writer()
                let producer = try await context.resumableStream("finished", makeStream: writer.source).created()
                writer.write("all of it")
                writer.close()
                #expect(try await producer.collect() == "all of it")
                #expect(await context.drain(timeout: .seconds(5)))
                let pattern = "\(context.configuration.keyPrefix):rs:chunk:*"
                for _ in 0..<20 {
                    #expect(try await context.resumeExistingStream("unknown").outcome == "not_found")
                    #expect(try await context.resumeExistingStream("finished", skipCharacters: 3).finished().collect() == " of it")
                }
                #expect(await eventually { (try? await channels(matching: pattern, via: commands))?.isEmpty == true })
            }
        }
    }

    @Test func tenFollowersGetEveryChunkInOrder() async throws {
        let backend = InstrumentedBackend()
        let context = ResumableStreamContext(
            configuration: .init(keyPrefix: "fanout", ackTimeout: handshakePatience), publisher: backend, subscriber: backend)
        let writer = Writer()
        let producer = try await context.resumableStream("s", makeStream: writer.source).created()
        let followers = try await (0..<10).asyncMap { _ in try await context.resumeExistingStream("s").resumed() }
        let text = (0..<1000).map { "t\($0) " }
        for chunk in text { writer.write(chunk) }
        writer.close()
        #expect(try await producer.collect() == text.joined())
        for follower in followers { #expect(try await follower.collect() == text.joined()) }
        await context.shutdown(gracePeriod: .seconds(1))
    }
}
