import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// One stream id, many lives: a reader gets one generation's text or a clear error, never another's, and a stop
/// or a durable log belongs to the generation it was made for. Each test is a case that failed before
/// generations (issue "One stream id, many lives").
@Suite("Generations of a stream id", .timeLimit(.minutes(1)))
struct GenerationTests {
    private static let log = ResumableStreamConfiguration.DurableLog(retention: .seconds(60), batchCharacters: 64, linger: .milliseconds(20))

    /// What a producer killed mid-stream (SIGKILL) leaves: its claim, its log, and nobody listening.
    private func deadProducer(_ id: String, of context: ResumableStreamContext, logging text: String) async throws -> StreamGeneration {
        let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: id)
        let sentinel = StreamSentinel(keys: keys, publisher: context.publisher, configuration: context.configuration)
        let generation = try await sentinel.claimed(.ifAbsent, announced: false)
        #expect(try await append(text, at: 0, to: id, of: context, as: generation))
        return generation
    }

    private func append(_ text: String, at offset: Int, to id: String, of context: ResumableStreamContext, as generation: StreamGeneration)
        async throws -> Bool
    {
        let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: id)
        return try await context.publisher.appendToLog(
            StreamLogEntry(offset: offset, text: text), at: keys.log, expiresIn: .seconds(60), fencedBy: keys.generation, generation: generation.hex)
    }

    /// Case 1: a producer killed after its log got text; 1.5 s later (its sentinel expired) a new stream of the
    /// id runs to its end. A resume from 200 gets the new stream's text from 200 and its clean end: never the
    /// old text, and the old producer (were it alive) cannot append any more.
    @Test(arguments: Backend.allCases)
    func aNewLifeNeverServesADeadGenerationsLog(_ backend: Backend) async throws {
        try await withContext(backend, configure: { $0.durableLog = Self.log }) { context in
            let old = try await deadProducer("c", of: context, logging: String(repeating: "A", count: 17 * 40))
            // Its keys expire, as they do a running TTL after the crash; its log outlives them.
            let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "c")
            for key in [keys.sentinel, keys.generation] { try await context.publisher.delete(key) }
            let writer = Writer()
            let producer = try await context.resumableStream("c", makeStream: writer.source).created()
            let text = (0..<20).map { "\($0) " + String(repeating: "B", count: 30) + "\n" }
            for line in text { writer.write(line) }
            writer.close()
            #expect(try await producer.collect() == text.joined())
            #expect(await context.drain(timeout: .seconds(5)))
            #expect(try await append("AAAA", at: 17 * 40, to: "c", of: context, as: old) == false)
            guard case .finished(let rest) = try await context.resumeExistingStream("c", skipCharacters: 200) else {
                Issue.record("the finished stream's log was not served")
                return
            }
            #expect(rest.startOffset == 200)
            #expect(try await rest.collect() == String(text.joined().dropFirst(200)))
        }
    }

    /// Case 1, the other way in: a replaced producer goes on for its own reader while its successor runs; the
    /// log holds the successor's text only, and its end.
    @Test(arguments: Backend.allCases)
    func aReplacedProducerNeverWritesToItsSuccessorsLog(_ backend: Backend) async throws {
        try await withContext(backend, configure: { $0.durableLog = Self.log }) { context in
            let old = Writer()
            let first = try await context.resumableStream("r", makeStream: old.source).created()
            var own = first.makeAsyncIterator()
            old.write(String(repeating: "A", count: 100))
            _ = try await own.next()
            let new = Writer()
            let second = try await context.createNewResumableStream("r", makeStream: new.source)
            old.write(String(repeating: "A", count: 500))
            old.close()
            new.write("the new ")
            new.write("answer")
            new.close()
            #expect(try await second.collect() == "the new answer")
            while try await own.next() != nil {}
            #expect(await context.drain(timeout: .seconds(5)))
            guard case .finished(let whole) = try await context.resumeExistingStream("r", skipCharacters: 0) else {
                Issue.record("the finished stream's log was not served")
                return
            }
            #expect(try await whole.collect() == "the new answer")
        }
    }

    /// A follower ends as its own generation ended, never as a newer one did: a replaced producer cannot write
    /// the meta key (its end is fenced), so its end frame says how it ended.
    @Test(arguments: Backend.allCases)
    func aFollowerEndsAsItsOwnGenerationEnded(_ backend: Backend) async throws {
        struct ModelOverloaded: Error {}
        try await withContexts(backend, count: 2) { contexts in
            let (old, feed) = AsyncThrowingStream<String, any Error>.makeStream()
            let first = try await contexts[0].resumableStream("ending") { old }.created()
            feed.yield("partial")
            let follower = try await contexts[1].resumeExistingStream("ending").resumed()
            var reader = follower.makeAsyncIterator()
            #expect(try await reader.next() == "partial")
            let new = Writer()
            let replacement = try await contexts[1].createNewResumableStream("ending", makeStream: new.source)
            feed.finish(throwing: ModelOverloaded())
            await #expect(throws: ResumableStreamError.self) { while try await reader.next() != nil {} }
            await #expect(throws: ModelOverloaded.self) { _ = try await first.collect() }
            new.write("complete")
            new.close()
            #expect(try await replacement.collect() == "complete")
        }
    }

    /// Case 4: a stop ends the source, not the writing of the end: the log holds everything the producer's own
    /// reader got, and its end mark, so a resume ends cleanly with the whole text.
    @Test(arguments: Backend.allCases)
    func aStopLeavesTheLogComplete(_ backend: Backend) async throws {
        try await withContext(backend, configure: { $0.durableLog = Self.log }) { context in
            let (source, feed) = AsyncStream<String>.makeStream()
            let producer = try await context.resumableStream("s1") { source }.created()
            var own = producer.makeAsyncIterator()
            var echoed = ""
            for line in 0..<30 {
                feed.yield("line \(line)\n")
                echoed += try await own.next() ?? ""
            }
            #expect(try await context.stop("s1") == .stopping)
            while let chunk = try await own.next() { echoed += chunk }
            #expect(await context.drain(timeout: .seconds(5)))
            guard case .finished(let logged) = try await context.resumeExistingStream("s1", skipCharacters: 0) else {
                Issue.record("the stopped stream's log was not served")
                return
            }
            #expect(try await logged.collect() == echoed)
        }
    }

    /// Case 3: a follower of the first life misses text (an end frame says the stream is longer than what it
    /// got) and asks again from its offset; the replacement answers. The follower ends with ``ResumableStreamError/streamReplaced`` after
    /// exactly the first life's text, never with the second's spliced in at its offset.
    @Test func aFollowerThatRecoversIntoANewLifeEndsWithAClearError() async throws {
        try await withContexts(.redis, count: 2, configure: { $0.ackTimeout = .seconds(1) }) { contexts in
            let keys = StreamKeys(keyPrefix: contexts[0].configuration.keyPrefix, streamID: "g")
            let first = Writer()
            let producer = try await contexts[0].resumableStream("g", makeStream: first.source).created()
            var own = producer.makeAsyncIterator()
            first.write("first life ")
            _ = try await own.next()
            let follower = try await contexts[1].resumeExistingStream("g").resumed()
            var reader = follower.makeAsyncIterator()
            #expect(try await reader.next() == "first life ")
            let firstGeneration = try #require(try await contexts[1].publisher.value(of: keys.generation).flatMap { StreamGeneration(hex: $0) })
            let second = Writer()
            let replacement = try await contexts[0].createNewResumableStream("g", makeStream: second.source)
            second.write("second life, which is longer")
            // The first life's end, longer than the follower's text: text was lost, so it asks again.
            let lost = ChunkFrame.encodeEnd(length: 5_000, identity: StreamIdentity(keys), generation: firstGeneration, ending: .completed)
            let listeners = try await channels(matching: keys.chunks(for: "*"), via: contexts[1].publisher as! RedisCommandConnection)
            #expect(listeners.count == 1)
            for channel in listeners { _ = try await contexts[1].publisher.publishMessage(lost, to: channel) }
            var received = "first life "
            do {
                while let chunk = try await reader.next() { received += chunk }
                Issue.record("the follower ended cleanly with \(received.debugDescription)")
            } catch let error as ResumableStreamError {
                #expect(error == .streamReplaced, "\(error)")
            }
            #expect(received == "first life ")
            first.close()
            second.close()
            #expect(try await replacement.collect() == "second life, which is longer")
            while try await own.next() != nil {}
        }
    }

    /// Redis lost every key (a restart without persistence) while two lives of the id still run. Whichever
    /// writes its keys again first, the newer one ends up with the id, having deleted what the older one wrote
    /// meanwhile; the older one can take it back from nobody and from no newer one.
    @Test(arguments: Backend.allCases)
    func afterRedisLostTheKeysTheNewerLifeTakesTheIDBack(_ backend: Backend) async throws {
        try await withContext(backend, configure: { $0.durableLog = Self.log }) { context in
            let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "wiped")
            let sentinel = StreamSentinel(keys: keys, publisher: context.publisher, configuration: context.configuration)
            let older = try await sentinel.claimed(.ifAbsent, announced: false)
            let newer = try await sentinel.claimed(.replacing, announced: true)
            for key in [keys.sentinel, keys.generation, keys.log] { try await context.publisher.delete(key) }
            // Nobody holds the id: the log takes nobody's text (the older one's would stay in the newer one's log).
            await #expect(throws: StreamLogUnclaimedError.self) {
                try await append("older text", at: 500, to: "wiped", of: context, as: older)
            }
            #expect(try await context.publisher.logEntries(at: keys.log, after: 0, limit: nil).isEmpty)
            // The older one writes its keys again first, and appends to a log of its own.
            #expect(try await sentinel.reclaim(for: older))
            #expect(try await append("older text", at: 0, to: "wiped", of: context, as: older))
            // The newer one takes the id over: the older one's log is gone, and it cannot take the id back.
            #expect(try await sentinel.reclaim(for: newer))
            #expect(try await context.publisher.value(of: keys.generation) == newer.hex)
            #expect(try await context.publisher.logEntries(at: keys.log, after: 0, limit: nil).isEmpty)
            #expect(try await sentinel.reclaim(for: older) == false)
            #expect(try await append("older text", at: 0, to: "wiped", of: context, as: older) == false)
            // Its own claim again is a no-op that keeps the id.
            #expect(try await sentinel.reclaim(for: newer))
            #expect(try await context.publisher.value(of: keys.generation) == newer.hex)
        }
    }

    /// Redis lost every key twice (restarts without persistence), and between the two losses a newer life of the
    /// id was claimed in the same process, announced to nobody (no key was left to name the older one). The
    /// older life, finished and still lingering, learns of it from the context, not from Redis: when it looks
    /// again after the second loss, it does not write its text back.
    @Test(.enabled(if: !usesExternalRedis, "needs a redis-server of its own to flush"))
    func anOlderLifeNeverComesBackOverANewerOneOfItsProcessAfterTwoLosses() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        var redis = try RedisConfiguration(url: server.url)
        redis.reconnectInitialDelay = .milliseconds(10)
        let context = ResumableStreamContext(
            redis: redis, configuration: ResumableStreamConfiguration(keyPrefix: "twice", lingerAfterFinish: .seconds(30)))
        let older = Writer()
        let olderOwn = try await context.resumableStream("chat", makeStream: older.source).created()
        older.write("the older answer")
        older.close()
        #expect(try await olderOwn.collect() == "the older answer")
        // An end is written just after the own reader ended.
        let sentinel = StreamKeys(keyPrefix: "twice", streamID: "chat").sentinel
        func waitForTheEnd() async throws {
            while try await context.publisher.value(of: sentinel) != WireProtocol.doneValue { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await waitForTheEnd()

        _ = try await server.cli(["FLUSHALL"])
        let newer = Writer()
        let newerOwn = try await context.createNewResumableStream("chat", makeStream: newer.source)
        newer.write("the newer answer")
        // A stopped stream does not linger: the newer life cannot write its keys back after the second loss.
        #expect(try await context.stop("chat") == .stopping)
        #expect(try await newerOwn.collect() == "the newer answer")
        try await waitForTheEnd()

        _ = try await server.cli(["FLUSHALL"])
        // The subscriber connection drops: the older life looks at the generation key again (and finds none).
        _ = try await server.cli(["CLIENT", "KILL", "TYPE", "pubsub"])
        var outcomes: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < deadline {
            outcomes.insert(try await context.resumeExistingStream("chat").outcome)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(outcomes == ["not_found"])
        await context.shutdown(gracePeriod: .seconds(5))
    }
}
