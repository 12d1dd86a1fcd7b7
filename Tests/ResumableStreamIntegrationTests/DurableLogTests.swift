import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// With `durableLog`, a stream whose producer died is resumed from its log, up to its last append, by any
/// instance, and ends with a clear error; a finished stream is served from its log.
@Suite("Durable log", .timeLimit(.minutes(1)))
struct DurableLogTests {
    private let log = ResumableStreamConfiguration.DurableLog(retention: .seconds(60), batchCharacters: 64, linger: .milliseconds(20))

    /// A context over `backend` that gives up on an absent producer after 300 ms.
    private func context(_ backend: InMemoryBackend, log: ResumableStreamConfiguration.DurableLog? = nil) -> ResumableStreamContext {
        ResumableStreamContext(
            configuration: .init(keyPrefix: "log", ackTimeout: .milliseconds(300), durableLog: log),
            publisher: backend, subscriber: backend)
    }

    /// A running sentinel with nobody listening (a producer that died), and `entries` in its log.
    private func deadProducer(_ backend: InMemoryBackend, entries: [StreamLogEntry]) async throws {
        let keys = StreamKeys(keyPrefix: "log", streamID: "s")
        try await backend.setValue("1", for: keys.sentinel, expiresIn: .seconds(60))
        try await backend.setValue("dead", for: keys.generation, expiresIn: .seconds(60))
        for entry in entries {
            _ = try await backend.appendToLog(entry, at: keys.log, expiresIn: .seconds(60), fencedBy: keys.generation, generation: "dead")
        }
    }

    /// Reads a result's stream: its text, its start and how it ended.
    private func read(_ result: ResumableStreamResult) async throws -> (text: String, start: Int?, error: ResumableStreamError?) {
        let stream = try result.finished()
        var text = ""
        do {
            for try await chunk in stream { text += chunk }
            return (text, stream.startOffset, nil)
        } catch let error as ResumableStreamError {
            return (text, stream.startOffset, error)
        }
    }

    @Test func aDeadProducersLogIsReplayedFromAnyOffsetAndEndsWithAClearError() async throws {
        let backend = InMemoryBackend()
        // Overlapping entries (an append tried again after its reply was lost) give each character once.
        try await deadProducer(
            backend,
            entries: [
                StreamLogEntry(offset: 0, text: "Hello"), StreamLogEntry(offset: 5, text: ", wö"),
                StreamLogEntry(offset: 5, text: ", wörld 😀"), StreamLogEntry(offset: 15, text: "!"),
            ])
        let context = context(backend)
        let fromThree = try await read(context.resumeExistingStream("s", skipCharacters: 3))
        #expect(fromThree.text == "lo, wörld 😀!" && fromThree.start == 3 && fromThree.error == .producerUnreachable)
        let fromEnd = try await read(context.resumableStream("s", skipCharacters: -3) { Writer().stream })
        #expect(fromEnd.text == "😀!" && fromEnd.start == 13)
        // A client that has more than the log holds gets nothing more, from where it is.
        let pastEnd = try await read(context.resumeExistingStream("s", skipCharacters: 99))
        #expect(pastEnd.text == "" && pastEnd.start == 99 && pastEnd.error == .producerUnreachable)
        // A page load gets the log too: the stream never finished.
        #expect(try await read(context.resumeExistingStream("s")).text == "Hello, wörld 😀!")
        await context.shutdown(gracePeriod: .seconds(1))
    }

    @Test func aCompleteLogEndsCleanlyAndAHoleEndsTheText() async throws {
        let complete = InMemoryBackend()
        try await deadProducer(complete, entries: [StreamLogEntry(offset: 0, text: "all"), .end(length: 3, ending: .completed)])
        #expect(try await read(context(complete).resumeExistingStream("s", skipCharacters: 1)) == ("ll", 1, nil))
        // Past the end of a complete log: nothing, from its end, as JavaScript's slice.
        #expect(try await read(context(complete).resumeExistingStream("s", skipCharacters: 9)) == ("", 3, nil))
        let holed = InMemoryBackend()
        try await deadProducer(
            holed, entries: [StreamLogEntry(offset: 0, text: "abc"), StreamLogEntry(offset: 5, text: "fg"), .end(length: 7, ending: .completed)])
        #expect(try await read(context(holed).resumeExistingStream("s", skipCharacters: 1)) == ("bc", 1, .producerUnreachable))
        // A log that lost its start is no log.
        let headless = InMemoryBackend()
        try await deadProducer(headless, entries: [StreamLogEntry(offset: 4, text: "late")])
        guard case .producerUnreachable = try await context(headless).resumeExistingStream("s", skipCharacters: 0) else {
            Issue.record("expected .producerUnreachable"); return
        }
    }

    /// The end mark says how the stream ended, so that a reader of the log never pairs its text with the meta
    /// key of another moment: before the producer's finish wrote it, or after a newer life of the id replaced it.
    @Test func theEndMarkCarriesTheStreamsOwnEnding() async throws {
        let backend = InMemoryBackend()
        let context = context(backend, log: log)
        struct SourceFailure: Error {}
        let own = try await context.resumableStream("s") {
            AsyncThrowingStream<String, any Error> { continuation in
                continuation.yield("abc")
                continuation.finish(throwing: SourceFailure())
            }
        }.created()
        _ = try? await own.collect()
        #expect(await context.drain(timeout: .seconds(5)))
        let keys = StreamKeys(keyPrefix: "log", streamID: "s")
        let ending = try await backend.logEntries(at: keys.log, after: 0, limit: nil).last?.ending
        guard case .failed(let message)? = ending else {
            Issue.record("the end mark says \(String(describing: ending))")
            return
        }
        // The meta key gone (a newer claim deletes it): the log still says how its own stream ended.
        try await backend.delete(keys.meta)
        #expect(try await read(context.resumeExistingStream("s", skipCharacters: 1)) == ("bc", 1, .producerFailed(message)))
        await context.shutdown(gracePeriod: .seconds(1))
    }

    /// Batches: a chunk larger than a batch goes out in pieces, chunks that come within the linger go out
    /// together, and the end mark follows the text.
    @Test func theProducerAppendsInBatchesAndMarksTheEnd() async throws {
        let backend = InMemoryBackend()
        let context = context(backend, log: log)
        let writer = Writer()
        let own = try await context.resumableStream("s", makeStream: writer.source).created()
        let big = String(repeating: "b", count: 150)
        for chunk in ["a", "b", "c", big] { writer.write(chunk) }
        writer.close()
        #expect(try await own.collect() == "abc" + big)
        #expect(await context.drain(timeout: .seconds(5)))
        let entries = try await backend.logEntries(at: StreamKeys(keyPrefix: "log", streamID: "s").log, after: 0, limit: nil)
        #expect(entries.map(\.text).joined() == "abc" + big)
        #expect(entries.allSatisfy { $0.text.utf16.count <= 64 })
        #expect(entries.count <= 5, "the chunks within the linger were not merged: \(entries.map(\.text))")
        #expect(entries.last == .end(length: 153, ending: .completed))
        // Finished, no retained text: served from the log, with its real ending.
        #expect(try await read(context.resumeExistingStream("s", skipCharacters: 150)) == ("bbb", 150, nil))
        await context.shutdown(gracePeriod: .seconds(1))
    }

    /// A producer cut off from Redis (its instance gone, as a crash looks from outside): another instance
    /// resumes from the log, which holds everything written a linger before the cut: a client that followed
    /// live and resumes from its own offset gets no gap and no duplicate at the seam of the two.
    @Test(.enabled(if: !usesExternalRedis, "needs a proxy in front of a redis-server of its own"))
    func aProducerCutOffMidStreamIsResumedFromItsLogByAnotherInstance() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        let proxy = try FaultProxy(forwardingTo: server.port)
        var cutOff = try RedisConfiguration(url: proxy.url)
        cutOff.connectTimeout = .milliseconds(300)
        cutOff.commandTimeout = .milliseconds(500)
        let configuration = ResumableStreamConfiguration(
            keyPrefix: "log", ackTimeout: .milliseconds(500), watchdogInterval: .milliseconds(200),
            durableLog: .init(retention: .seconds(60), linger: .milliseconds(20)))
        let producing = ResumableStreamContext(redis: cutOff, configuration: configuration)
        let other = ResumableStreamContext(redis: try RedisConfiguration(url: server.url), configuration: configuration)
        let writer = Writer()
        _ = try await producing.resumableStream("s", makeStream: writer.source).created()
        let live = try await other.resumeExistingStream("s").resumed()
        var written = ""
        for line in 0..<200 {
            let next = "line \(line) of a stream whose producer dies\n"
            written += next
            writer.write(next)
            if line % 20 == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        // A client that followed live read part of it, then lost its connection.
        var first = ""
        for try await chunk in live {
            first += chunk
            if first.utf16.count >= written.utf16.count / 2 { break }
        }
        // Everything written so far reached the log (a linger after each batch; waited for, not guessed, so
        // that a loaded machine changes nothing), then the producer is cut off.
        let log = StreamKeys(keyPrefix: "log", streamID: "s").log
        let logged = await eventually(within: .seconds(10)) {
            let entries = (try? await other.publisher.logEntries(at: log, after: 0, limit: nil)) ?? []
            return entries.reduce(0) { $0 + $1.text.utf16.count } == written.utf16.count
        }
        #expect(logged, "the log never held the whole text before the cut")
        proxy.stop()
        writer.write("written after the cut, never logged")
        // It comes back to the other instance, from its own offset: the rest comes from the log.
        let rest = try await read(other.resumeExistingStream("s", skipCharacters: first.utf16.count))
        #expect(rest.start == first.utf16.count)
        #expect(first + rest.text == written, "\((first + rest.text).utf16.count) of \(written.utf16.count) characters")
        #expect(rest.error == .producerUnreachable)
        writer.close()
        await other.shutdown(gracePeriod: .seconds(1))
        await producing.shutdown(gracePeriod: .seconds(1))
    }
}
