import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// With `finishedStreamRetention`, a client that comes back after the end gets the rest of the stream from
/// any instance, without its producer; one that does not say where it is gets `.alreadyDone`, as in
/// TypeScript.
@Suite("Finished streams kept for late clients", .timeLimit(.minutes(1)))
struct RetentionTests {
    private let text = "Hello, wörld 😀 and the end"

    /// Produces `text` to its end (or, with `failing`, to that error) in `producing`, and waits until it is
    /// `DONE`.
    private func finish(_ id: String, in producing: ResumableStreamContext, failing failure: (any Error)? = nil) async throws {
        let own = try await producing.resumableStream(id) { [text] in
            AsyncThrowingStream<String, any Error> { continuation in
                continuation.yield(text)
                continuation.finish(throwing: failure)
            }
        }.created()
        _ = try? await own.collect()
        #expect(await producing.drain(timeout: .seconds(10)))
    }

    @Test(arguments: Backend.allCases)
    func aClientThatComesBackAfterTheEndGetsTheRestFromAnotherInstance(_ backend: Backend) async throws {
        try await withContexts(backend, count: 2, configure: { $0.finishedStreamRetention = .seconds(60) }) { contexts in
            try await finish("late", in: contexts[0])
            // Both APIs, on the other instance.
            let idempotent = try await contexts[1].resumableStream("late", skipCharacters: 7) { Writer().stream }.finished()
            #expect(idempotent.startOffset == 7)
            #expect(try await idempotent.collect() == "wörld 😀 and the end")
            let explicit = try await contexts[1].resumeExistingStream("late", skipCharacters: 0).finished()
            #expect(try await explicit.collect() == text)
            // A page load says no offset: as in TypeScript.
            #expect(try await contexts[1].resumableStream("late") { Writer().stream }.isAlreadyDone)
            #expect(try await contexts[1].resumeExistingStream("late").isAlreadyDone)
            #expect(try await contexts[1].hasExistingStream("late") == .done)
        }
    }

    /// Offsets follow JavaScript's `slice`, as a live resume does: past the end gives nothing (and says it
    /// starts at the end), negative counts from the end, inside a surrogate pair gives U+FFFD for its half.
    @Test(arguments: [(10_000, "", 27), (-7, "the end", 20), (14, "\u{FFFD} and the end", 14), (Int.min, "Hello, wörld 😀 and the end", 0)])
    func offsetsFollowJavaScriptSlice(skip: Int, rest: String, start: Int) async throws {
        try await withContext(.inMemory, configure: { $0.finishedStreamRetention = .seconds(60) }) { context in
            try await finish("offsets", in: context)
            let stream = try await context.resumeExistingStream("offsets", skipCharacters: skip).finished()
            #expect(stream.startOffset == start)
            #expect(try await stream.collect() == rest)
        }
    }

    @Test(arguments: Backend.allCases)
    func stoppedAndFailedStreamsKeepTheirEnding(_ backend: Backend) async throws {
        struct SourceFailure: Error {}
        try await withContext(backend, configure: { $0.finishedStreamRetention = .seconds(60) }) { context in
            try await finish("failed", in: context, failing: SourceFailure())
            var iterator = try await context.resumeExistingStream("failed", skipCharacters: 0).finished().makeAsyncIterator()
            #expect(try await iterator.next() == text)
            await #expect(throws: ResumableStreamError.self) { try await iterator.next() }

            let writer = Writer()
            let own = try await context.resumableStream("stopped", makeStream: writer.source).created()
            writer.write(text)
            // The producer read the text once its own reader has it: then the stop keeps it.
            var reader = own.makeAsyncIterator()
            #expect(try await reader.next() == text)
            _ = try await context.stop("stopped")
            #expect(await context.drain(timeout: .seconds(10)))
            #expect(try await context.resumeExistingStream("stopped", skipCharacters: 5).finished().collect() == ", wörld 😀 and the end")
        }
    }

    /// A finished stream's text and its ending are read in one step: a newer life of the id that claims and
    /// finishes between two reads cannot pair one's text with the other's ending.
    @Test func theTextAndItsEndingAreReadTogether() async throws {
        struct SourceFailure: Error {}
        let keys = StreamKeys(keyPrefix: "together", streamID: "s")
        let newerLifeRan = Locked(false)
        let backend = InstrumentedBackend(beforeRead: { base, read in
            guard read.contains(keys.meta), !newerLifeRan.withLock({ $0 }) else { return }
            newerLifeRan.withLock { $0 = true }
            // A newer life that completes with other text, just before the read.
            let configuration = ResumableStreamConfiguration(keyPrefix: "together", finishedStreamRetention: .seconds(60))
            let sentinel = StreamSentinel(keys: keys, publisher: base, configuration: configuration)
            guard case .claimed(let generation, _) = try await sentinel.claim(.replacing) else { return }
            _ = try await sentinel.finalise(as: .completed, for: generation, text: "newer")
        })
        let context = ResumableStreamContext(
            configuration: .init(keyPrefix: "together", ackTimeout: handshakePatience, finishedStreamRetention: .seconds(60)), publisher: backend,
            subscriber: backend)
        try await finish("s", in: context, failing: SourceFailure())
        var text = ""
        var error: (any Error)?
        do {
            for try await chunk in try await context.resumeExistingStream("s", skipCharacters: 0).finished() { text += chunk }
        } catch let caught {
            error = caught
        }
        #expect(newerLifeRan.withLock { $0 })
        // One life's text with that life's ending: the newer one's, read after its finish.
        #expect(text == "newer")
        #expect(error == nil, "the newer life completed, but the reader got \(String(describing: error))")
        await context.shutdown(gracePeriod: .seconds(1))
    }

    @Test func theTextExpiresWithTheRetentionAndIsWrittenInTheSameStepAsDone() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            // Long enough that a busy machine still finds the text between the end and the read below.
            try await withContext(.redis, configure: { $0.finishedStreamRetention = .seconds(10) }) { context in
                try await finish("expiring", in: context)
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "expiring")
                #expect(try await commands.get(keys.text) == text)
                let ttl = try #require(try await commands.send(["PTTL", .string(keys.text)]).int)
                #expect(ttl > 0 && ttl <= 10_000)
                try await Task.sleep(for: .milliseconds(ttl + 100))
                #expect(try await context.resumeExistingStream("expiring", skipCharacters: 0).isAlreadyDone)
                // DONE outlives the text: the stream is still done.
                #expect(try await commands.get(keys.sentinel) == "DONE")
            }
        }
    }

    /// Nothing is retained by default, as in TypeScript: no key, and `.alreadyDone` even with an offset.
    @Test func withoutRetentionNothingIsKept() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis) { context in
                try await finish("default", in: context)
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "default")
                #expect(try await commands.get(keys.text) == nil)
                #expect(try await context.resumeExistingStream("default", skipCharacters: 3).isAlreadyDone)
            }
        }
    }

    /// A stream that replaces a finished one forgets the old text: a late client of the new stream never gets
    /// the old one's, even when the new one's instance retains nothing.
    @Test func aNewStreamOfTheIDForgetsTheOldText() async throws {
        let prefix = testPrefix()
        let redis = try sharedConfiguration()
        let retaining = ResumableStreamContext(
            redis: redis, configuration: .init(keyPrefix: prefix, ackTimeout: handshakePatience, finishedStreamRetention: .seconds(60)))
        let plain = ResumableStreamContext(redis: redis, configuration: .init(keyPrefix: prefix, ackTimeout: handshakePatience))
        try await finish("reused", in: retaining)
        let writer = Writer()
        let own = try await plain.createNewResumableStream("reused", makeStream: writer.source)
        writer.write("new")
        writer.close()
        #expect(try await own.collect() == "new")
        #expect(await plain.drain(timeout: .seconds(10)))
        #expect(try await retaining.resumeExistingStream("reused", skipCharacters: 0).isAlreadyDone)
        await retaining.shutdown(gracePeriod: .seconds(5))
        await plain.shutdown(gracePeriod: .seconds(5))
    }
}
