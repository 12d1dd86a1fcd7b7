import Clocks
import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// What this package does better than the TypeScript original, each against real Redis.
@Suite("Beyond the original: handshake, expiry, watchdog, errors, stop, lifetime", .timeLimit(.minutes(1)))
struct ReliabilityTests {
    @Test func consumerAsksAgainOnFreshListenerIdsUntilALateProducerAnswers() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            try await withContext(.redis, configure: { $0.ackRetryInterval = .milliseconds(100) }) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "late")
                // A TypeScript producer in the window between its INCR and its SUBSCRIBE.
                _ = try await commands.incr(keys.sentinel)
                async let consumer = context.resumeExistingStream("late")
                try await Task.sleep(for: .milliseconds(350))
                let requests = try await subscriber.subscribe(to: keys.requests)
                // Like a TypeScript producer, answer every request it gets.
                let producer = Task {
                    for await case .message(let bytes) in requests {
                        guard case .resume(let listener, _, _)? = RequestMessage.parse(String(decoding: bytes, as: UTF8.self)) else { continue }
                        _ = try? await commands.publish("made it", to: keys.chunks(for: listener))
                        _ = try? await commands.publish(WireProtocol.doneMessage, to: keys.chunks(for: listener))
                    }
                }
                #expect(try await consumer.resumed().collect() == "made it")
                producer.cancel()
            }
        }
    }

    /// A producer that listens but never answers: the follower asks again on fresh listener ids, and gives up
    /// when the ack timeout has passed, not before, on a clock the test moves (so a slow machine changes nothing).
    @Test func consumerNeverRepeatsAListenerIdAndGivesUpAtTheAckTimeout() async throws {
        let clock = TestClock()
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            try await withContext(
                .redis,
                configure: {
                    $0.ackTimeout = .milliseconds(1500)
                    $0.ackRetryInterval = .milliseconds(100)
                },
                clock: StreamClock(clock)
            ) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "mute")
                _ = try await commands.incr(keys.sentinel)
                // A producer that listens but never answers.
                let requests = try await subscriber.subscribe(to: keys.requests)
                let started = clock.now
                let gaveUp = Locked<TestClock<Duration>.Instant?>(nil)
                let follower = Task {
                    let result = try await context.resumeExistingStream("mute")
                    gaveUp.withLock { $0 = clock.now }
                    return result
                }
                try await advanceStepwise(clock) { gaveUp.withLock { $0 } != nil }
                let result = try await follower.value
                guard case .producerUnreachable = result else { Issue.record("expected .producerUnreachable, got \(result)"); return }
                let waited = try #require(gaveUp.withLock { $0 }.map { started.duration(to: $0) })
                #expect(waited >= .milliseconds(1500), "gave up after \(waited) on the clock, before the ack timeout")
                // Every request was published (and awaited) before the result: a marker published now comes
                // after all of them.
                _ = try await commands.publish("end of requests", to: keys.requests)
                var listeners: [String] = []
                var incoming = requests.makeAsyncIterator()
                while case .message(let bytes)? = await incoming.next(), bytes != Array("end of requests".utf8) {
                    if case .resume(let listener, _, _)? = RequestMessage.parse(String(decoding: bytes, as: UTF8.self)) {
                        listeners.append(listener)
                    }
                }
                #expect(listeners.count >= 2, "asked only \(listeners.count) time(s)")
                #expect(Set(listeners).count == listeners.count)
            }
        }
    }

    @Test func sentinelExpiresWhileRunningSoACrashedProducersIdIsReusable() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis, configure: { $0.runningTTL = .seconds(30) }) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "crashy")
                let writer = Writer()
                _ = try await context.resumableStream("crashy", makeStream: writer.source).created()
                let ttl = try #require(try await commands.send(["PTTL", .string(keys.sentinel)]).int)
                #expect(ttl > 0 && ttl <= 30_000)
                writer.close()
                #expect(await context.drain(timeout: .seconds(5)))
                // A crashed producer leaves its sentinel behind: simulate one, and see it expire.
                try await commands.set(keys.sentinel, to: "7", expiresIn: .seconds(1))
                try await Task.sleep(for: .milliseconds(1300))
                let fresh = Writer()
                let stream = try await context.resumableStream("crashy", makeStream: fresh.source).created()
                fresh.write("again")
                fresh.close()
                #expect(try await stream.collect() == "again")
            }
        }
    }

    /// The refresh sweep runs every third of `runningTTL` on the context's clock: the sentinel, shortened by hand,
    /// keeps its short expiry until the clock reaches the sweep, and gets the whole `runningTTL` back then.
    @Test func runningSentinelIsRefreshedWhileTheProducerLives() async throws {
        let clock = TestClock()
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis, configure: { $0.runningTTL = .seconds(60) }, clock: StreamClock(clock)) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "long")
                let writer = Writer()
                let stream = try await context.resumableStream("long", makeStream: writer.source).created()
                func expiry() async throws -> Int { try #require(try await commands.send(["PTTL", .string(keys.sentinel)]).int) }
                // As if most of the expiry had passed since the last refresh.
                _ = try await commands.send(["PEXPIRE", .string(keys.sentinel), "30000"])
                let moved = try await advanceStepwise(clock, by: .milliseconds(500), upTo: .seconds(40)) { try await expiry() > 30_000 }
                #expect(try await expiry() > 30_000, "not refreshed in 40 s on the clock")
                #expect(moved >= .seconds(20), "refreshed \(moved) after the start on the clock, before the sweep's period")
                #expect(try await commands.get(keys.sentinel) == "1")
                writer.close()
                _ = try await stream.collect()
            }
        }
    }

    /// A finished producer answers late requests for `lingerAfterFinish` on the context's clock, then stops
    /// listening: not sooner, however slow the machine.
    @Test func aFinishedProducerLingersForItsWindowOnTheClock() async throws {
        let clock = TestClock()
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis, configure: { $0.lingerAfterFinish = .seconds(2) }, clock: StreamClock(clock)) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "lingers")
                let writer = Writer()
                let stream = try await context.resumableStream("lingers", makeStream: writer.source).created()
                writer.write("all of it")
                writer.close()
                #expect(try await stream.collect() == "all of it")
                #expect(await eventually(within: .seconds(5)) { (try? await commands.get(keys.sentinel)) == "DONE" })
                let moved = try await advanceStepwise(clock, by: .milliseconds(100)) {
                    try await subscriberCount(keys.requests, via: commands) == 0
                }
                #expect(try await subscriberCount(keys.requests, via: commands) == 0, "still listening 5 s after the end on the clock")
                #expect(moved >= .seconds(2), "stopped listening \(moved) after the end on the clock, before the linger ended")
            }
        }
    }

    /// Plays a TypeScript producer of `streamID` by hand: INCR, SUBSCRIBE to the requests, `answer` the
    /// consumer's request on its listener channel, then vanish (the request subscription ends on return).
    private func followHandMadeProducer(
        _ streamID: String, context: ResumableStreamContext,
        commands: RedisCommandConnection, subscriber: RedisSubscriberConnection,
        answer: (_ keys: StreamKeys, _ listenerChannel: String) async throws -> Void
    ) async throws -> ResumableTextStream {
        let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: streamID)
        _ = try await commands.incr(keys.sentinel)
        let requests = try await subscriber.subscribe(to: keys.requests)
        var incoming = requests.makeAsyncIterator()
        async let consumer = context.resumeExistingStream(streamID)
        guard case .message(let bytes) = await incoming.next(),
            case .resume(let listener, _, _)? = RequestMessage.parse(String(decoding: bytes, as: UTF8.self))
        else { throw ResumableStreamError.producerUnreachable }
        try await answer(keys, keys.chunks(for: listener))
        return try await consumer.resumed()
    }

    /// The producer dies after its first chunk: the watchdog ends its follower with `producerUnreachable` after
    /// two silent watchdog intervals and a look at the producer, never sooner, on a clock the test moves.
    @Test func watchdogEndsAFollowerWhoseProducerVanished() async throws {
        let clock = TestClock()
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            try await withContext(.redis, configure: { $0.watchdogInterval = .milliseconds(200) }, clock: StreamClock(clock)) { context in
                // The producer process dies after the first chunk: no DONE ever comes.
                let stream = try await followHandMadeProducer("vanish", context: context, commands: commands, subscriber: subscriber) { _, listener in
                    _ = try await commands.publish("partial", to: listener)
                }
                let started = clock.now
                let ended = Locked<TestClock<Duration>.Instant?>(nil)
                let reader = Task {
                    defer { ended.withLock { $0 = clock.now } }
                    for try await _ in stream {}
                }
                try await advanceStepwise(clock) { ended.withLock { $0 } != nil }
                await #expect(throws: ResumableStreamError.producerUnreachable) { try await reader.value }
                let waited = try #require(ended.withLock { $0 }.map { started.duration(to: $0) })
                #expect(waited >= .milliseconds(400), "ended \(waited) after the last chunk on the clock, before two silent intervals")
            }
        }
    }

    @Test func watchdogEndsAFollowerWhoseDoneMessageWasLost() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            try await withContext(.redis, configure: { $0.watchdogInterval = .milliseconds(200) }) { context in
                // The producer finishes: DONE in the sentinel, unsubscribed, but the DONE message is lost.
                let stream = try await followHandMadeProducer("lost-done", context: context, commands: commands, subscriber: subscriber) {
                    keys, listener in
                    _ = try await commands.publish("all of it", to: listener)
                    try await commands.set(keys.sentinel, to: "DONE", expiresIn: .seconds(60))
                }
                #expect(try await stream.collect() == "all of it")
            }
        }
    }

    @Test func sourceThatThrowsFailsEveryReaderAndFinalisesTheStream() async throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "fails")
                let (source, feed) = AsyncThrowingStream<String, any Error>.makeStream()
                let producer = try await context.resumableStream("fails") { source }.created()
                var own = producer.makeAsyncIterator()
                feed.yield("half")
                #expect(try await own.next() == "half")
                let follower = try await context.resumableStream("fails") { source }.resumed()
                feed.finish(throwing: Boom())
                await #expect(throws: Boom.self) { _ = try await own.next() }
                await #expect(throws: ResumableStreamError.producerFailed("boom")) { _ = try await follower.collect() }
                #expect(await context.drain(timeout: .seconds(5)))
                #expect(try await commands.get(keys.sentinel) == "DONE")
                // The producer answers late requests for `lingerAfterFinish`, then stops listening.
                #expect(await eventually(within: .seconds(5)) { (try? await subscriberCount(keys.requests, via: commands)) == 0 })
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func stopFromAnotherInstanceEndsEveryReaderCleanly(_ backend: Backend) async throws {
        try await withContexts(backend, count: 2) { contexts in
            let (instanceA, instanceB) = (contexts[0], contexts[1])
            let cancelled = Writer()
            let (source, feed) = AsyncStream<String>.makeStream()
            feed.onTermination = { _ in cancelled.close() }
            let producer = try await instanceA.resumableStream("stoppable") { source }.created()
            var own = producer.makeAsyncIterator()
            feed.yield("a")
            #expect(try await own.next() == "a")
            let follower = try await instanceB.resumeExistingStream("stoppable").resumed()
            #expect(try await instanceB.stop("stoppable") == .stopping)
            #expect(try await own.next() == nil)
            #expect(try await follower.collect() == "a")
            for await _ in cancelled.stream {}  // the source saw its cancellation
            #expect(await instanceA.drain(timeout: .seconds(5)))
            #expect(try await instanceB.hasExistingStream("stoppable") == .done)
            #expect(try await instanceB.stop("stoppable") == .alreadyDone)
        }
    }

    @Test(arguments: Backend.allCases)
    func aStopThatReachedItsProducerDoesNotStopTheNextStream(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let first = Writer()
            let producer = try await context.resumableStream("again", makeStream: first.source).created()
            #expect(try await context.stop("again") == .stopping)
            for try await _ in producer {}
            #expect(await context.drain(timeout: .seconds(5)))
            // Within the stop request TTL, a new stream with this id runs to its end. (The pause gives a stored
            // request the time to stop it, if one were left.)
            let second = Writer()
            let next = try await context.createNewResumableStream("again", makeStream: second.source)
            try await Task.sleep(for: .milliseconds(200))
            second.write("runs")
            second.close()
            #expect(try await next.collect() == "runs")
        }
    }

    /// A stop with no stream to aim at stores nothing: the next stream of the id runs to its end.
    @Test(arguments: Backend.allCases)
    func aStopOfAStreamThatDoesNotRunStoresNothing(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            #expect(try await context.stop("early") == .notFound)
            let writer = Writer()
            let producer = try await context.resumableStream("early", makeStream: writer.source).created()
            try await Task.sleep(for: .milliseconds(200))
            writer.write("runs")
            writer.close()
            #expect(try await producer.collect() == "runs")
        }
    }

    /// A producer that died (as SIGKILL leaves it: its claim in Redis, nobody listening) gets a stop; its
    /// sentinel expires; the next stream of the id is not stopped by it.
    @Test(arguments: Backend.allCases)
    func aStopOfADeadProducerNeverStopsTheNextStreamOfItsID(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "dead")
            let dead = StreamSentinel(keys: keys, publisher: context.publisher, configuration: context.configuration)
            _ = try await dead.claimed(.ifAbsent, announced: false)
            #expect(try await context.stop("dead") == .awaitingProducer)
            // Its keys expire, as they do a running TTL after the crash.
            for key in [keys.sentinel, keys.generation] { try await context.publisher.delete(key) }
            let writer = Writer()
            let next = try await context.resumableStream("dead", makeStream: writer.source).created()
            try await Task.sleep(for: .milliseconds(200))
            writer.write("runs")
            writer.close()
            #expect(try await next.collect() == "runs")
        }
    }

    /// A stop aimed at the stream that ran when it was asked never stops the one that replaced it, even when
    /// the replacement started before the stop arrived.
    @Test(arguments: Backend.allCases)
    func aStopOfAReplacedStreamNeverStopsItsReplacement(_ backend: Backend) async throws {
        try await withContexts(backend, count: 2) { contexts in
            let old = Writer()
            let first = try await contexts[0].resumableStream("regen", makeStream: old.source).created()
            // B's stop is aimed at the first stream; A replaces it before the request is published.
            let keys = StreamKeys(keyPrefix: contexts[1].configuration.keyPrefix, streamID: "regen")
            let aimedAt = try await contexts[1].publisher.value(of: keys.generation)
            let target = try #require(aimedAt.flatMap { StreamGeneration(hex: $0) })
            let second = Writer()
            let replacement = try await contexts[0].createNewResumableStream("regen", makeStream: second.source)
            _ = try await contexts[1].publisher.publishMessage(RequestMessage.encodeStop(target: target), to: keys.requests)
            try await Task.sleep(for: .milliseconds(200))
            second.write("regenerated")
            second.close()
            #expect(try await replacement.collect() == "regenerated")
            // The replaced producer stopped listening at the announcement: it goes on for its own reader.
            old.write("old")
            old.close()
            #expect(try await first.collect() == "old")
        }
    }

    @Test(arguments: Backend.allCases)
    func cancellingAReaderNeverStopsTheProducer(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("keeps-going", makeStream: writer.source).created()
            let reader = Task { for try await _ in producer {} }
            reader.cancel()
            _ = await reader.result
            let follower = try await context.resumableStream("keeps-going", makeStream: writer.source).resumed()
            let followerReader = Task { for try await _ in follower {} }
            followerReader.cancel()
            _ = await followerReader.result
            writer.write("still ")
            writer.write("here")
            writer.close()
            let late = try await context.resumableStream("keeps-going", makeStream: writer.source)
            if case .resumed(let stream) = late { #expect(try await stream.collect() == "still here") }
            #expect(await context.drain(timeout: .seconds(5)))
            #expect(try await context.hasExistingStream("keeps-going") == .done)
        }
    }

    @Test(arguments: Backend.allCases)
    func shutdownLetsProducersFinishThenStopsTheRest(_ backend: Backend) async throws {
        var configuration = ResumableStreamConfiguration(keyPrefix: testPrefix())
        configuration.ackTimeout = .seconds(1)
        let context = try makeContext(backend, configuration)
        let quick = Writer()
        let endless = Writer()
        let quickStream = try await context.resumableStream("quick", makeStream: quick.source).created()
        let endlessStream = try await context.resumableStream("endless", makeStream: endless.source).created()
        #expect(context.activeProducerCount == 2)
        quick.write("done soon")
        let finisher = Task {
            try await Task.sleep(for: .milliseconds(100))
            quick.close()
        }
        await context.shutdown(gracePeriod: .milliseconds(500))
        _ = await finisher.result
        #expect(context.activeProducerCount == 0)
        #expect(try await quickStream.collect() == "done soon")
        #expect(try await endlessStream.collect() == "")
        await #expect(throws: ResumableStreamError.shuttingDown) {
            try await context.resumableStream("new", makeStream: quick.source)
        }
    }

    @Test(arguments: Backend.allCases)
    func bufferLimitFailsTheStreamClearly(_ backend: Backend) async throws {
        try await withContext(backend, configure: { $0.maxBufferedCharacters = 5 }) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("big", makeStream: writer.source).created()
            writer.write("abc")
            writer.write("def")
            var chunks = producer.makeAsyncIterator()
            #expect(try await chunks.next() == "abc")
            await #expect(throws: ResumableStreamError.bufferLimitExceeded(5)) { _ = try await chunks.next() }
        }
    }

    @Test func largeReplayGoesOutInBoundedPieces() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            try await withContext(.redis, configure: { $0.replayPieceSize = 4 }) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "pieces")
                let writer = Writer()
                let producer = try await context.resumableStream("pieces", makeStream: writer.source).created()
                var own = producer.makeAsyncIterator()
                writer.write("abcdefghij")
                _ = try await own.next()
                let subscription = try await subscriber.subscribe(to: keys.chunks(for: "piecewise"))
                var messages = subscription.makeAsyncIterator()
                _ = try await commands.publish(#"{"listenerId":"piecewise"}"#, to: keys.requests)
                for piece in ["abcd", "efgh", "ij"] { #expect(await messages.next() == .message(Array(piece.utf8))) }
                writer.close()
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentCallersGetOneProducerAndIdenticalFollowers(_ backend: Backend) async throws {
        try await withContext(backend, configure: { $0.ackTimeout = .seconds(5) }) { context in
            let writer = Writer()
            let results = try await withThrowingTaskGroup(of: ResumableStreamResult.self) { group in
                for _ in 0..<50 { group.addTask { try await context.resumableStream("crowd", makeStream: writer.source) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let created = results.filter { if case .created = $0 { true } else { false } }
            #expect(created.count == 1)
            #expect(results.allSatisfy { $0.stream != nil })
            let text = (0..<200).map { "token \($0) " }
            for chunk in text { writer.write(chunk) }
            writer.close()
            let collected = try await withThrowingTaskGroup(of: String.self) { group in
                for result in results { group.addTask { try await result.stream!.collect() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(collected.allSatisfy { $0 == text.joined() })
        }
    }

    @Test func nothingIsLeftBehindButTheFinishedSentinel() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            let prefix = try await withContext(.redis) { context in
                let writer = Writer()
                let producer = try await context.resumableStream("tidy", makeStream: writer.source).created()
                let followers = try await (0..<3).asyncMap { _ in try await context.resumeExistingStream("tidy").resumed() }
                writer.write("x")
                writer.close()
                _ = try await producer.collect()
                for follower in followers { _ = try await follower.collect() }
                #expect(await context.drain(timeout: .seconds(5)))
                return context.configuration.keyPrefix
            }
            #expect(
                await eventually { (try? await channels(matching: "\(prefix):*", via: commands))?.isEmpty == true })
            let keys = try await commands.send(["KEYS", .string("\(prefix):*")])
            // The finished sentinel, and its generation's key, which fences it (both expire with the DONE).
            guard case .array(let names) = keys else { throw RedisError.unexpectedReply("KEYS") }
            #expect(Set(names.compactMap(\.string)) == ["\(prefix):rs:sentinel:tidy", "\(prefix):rs:generation:tidy"])
        }
    }

    /// Every task of a context (producers and their log writers, relays' recoveries, the sweeps, the watchdog's
    /// conclusions) is counted by its background work: shutdown returns once all of them ended, and a follower of a
    /// stream another instance still produces ends then, with an error, instead of reading on.
    @Test(arguments: Backend.allCases)
    func shutdownReturnsOnlyOnceEveryTaskOfTheContextEnded(_ backend: Backend) async throws {
        try await withContexts(backend, count: 2, configure: { $0.durableLog = .init(retention: .seconds(60)) }) { contexts in
            let (producing, following) = (contexts[0], contexts[1])
            let other = Writer()
            let elsewhere = try await producing.resumableStream("elsewhere", makeStream: other.source).created()
            other.write("text")
            let follower = try await following.resumeExistingStream("elsewhere").resumed()
            let mine = Writer()
            let own = try await following.resumableStream("mine", makeStream: mine.source).created()
            mine.write("mine")
            mine.close()
            #expect(following.work.runningCount > 0)
            await following.shutdown(gracePeriod: .seconds(5))
            #expect(following.work.runningCount == 0)
            #expect(try await own.collect() == "mine")
            await #expect(throws: ResumableStreamError.interrupted) { try await follower.collect() }
            other.close()
            #expect(try await elsewhere.collect() == "text")
        }
    }

    /// A start-up check: `ping` answers when Redis does, and throws the reason, classified as unavailable,
    /// when it does not.
    @Test func pingSaysWhetherRedisAnswersAndWhy() async throws {
        try await withContext(.redis) { context in try await context.ping() }
        var redis = try RedisConfiguration(url: "redis://127.0.0.1:\(try RedisServer.freePort())")
        redis.connectTimeout = .milliseconds(500)
        let unreachable = ResumableStreamContext(redis: redis)
        do {
            try await unreachable.ping()
            Issue.record("a ping to a closed port succeeded")
        } catch {
            #expect(ResumableStreamContext.isUnavailable(error))
            #expect("\(error)".contains("refused"), "\(error)")
        }
        #expect(!ResumableStreamContext.isUnavailable(ResumableStreamError.producerUnreachable))
        #expect(ResumableStreamContext.isUnavailable(ResumableStreamError.shuttingDown))
        await unreachable.shutdown(gracePeriod: .zero)
    }

    @Test func emptyStreamIdIsAClearError() async throws {
        try await withContext(.inMemory) { context in
            await #expect(throws: ResumableStreamError.emptyStreamID) { try await context.hasExistingStream("") }
            await #expect(throws: ResumableStreamError.emptyStreamID) { try await context.resumeExistingStream("") }
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
