import ResumableStream
import Testing

/// The TypeScript package's shared suite (`src/__tests__/tests.ts`, 16 cases), against real Redis and the
/// in-process backend.
@Suite("The TypeScript suite, ported", .timeLimit(.minutes(1)))
struct TypeScriptSuiteTests {
    @Test("should act like a normal stream", arguments: Backend.allCases)
    func actsLikeANormalStream(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let stream = try await context.resumableStream("test", makeStream: writer.source).created()
            writer.write("1\n")
            writer.write("2\n")
            writer.write("3\n")
            writer.close()
            #expect(try await stream.collect() == "1\n2\n3\n")
        }
    }

    @Test("should resume a done stream", arguments: Backend.allCases)
    func resumesADoneStream(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            let consumer = try await context.resumableStream("test", makeStream: writer.source).resumed()
            writer.write("1\n")
            writer.write("2\n")
            writer.close()
            #expect(try await producer.collect() == "1\n2\n")
            #expect(try await consumer.collect() == "1\n2\n")
        }
    }

    @Test("hasExistingStream", arguments: Backend.allCases)
    func hasExistingStream(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            #expect(try await context.hasExistingStream("test") == .none)
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            #expect(try await context.hasExistingStream("test") == .inProgress)
            #expect(try await context.hasExistingStream("test2") == .none)
            let consumer = try await context.resumableStream("test", makeStream: writer.source).resumed()
            #expect(try await context.hasExistingStream("test") == .inProgress)
            writer.write("1\n")
            writer.write("2\n")
            writer.close()
            #expect(try await producer.collect() == "1\n2\n")
            #expect(try await consumer.collect() == "1\n2\n")
            #expect(try await context.hasExistingStream("test") == .done)
        }
    }

    @Test("should resume a done stream reverse read", arguments: Backend.allCases)
    func resumesADoneStreamReverseRead(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            let consumer = try await context.resumableStream("test", makeStream: writer.source).resumed()
            writer.write("1\n")
            writer.write("2\n")
            writer.close()
            #expect(try await consumer.collect() == "1\n2\n")
            #expect(try await producer.collect() == "1\n2\n")
        }
    }

    @Test("should resume an in-progress stream", arguments: Backend.allCases)
    func resumesAnInProgressStream(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            var producerChunks = producer.makeAsyncIterator()
            writer.write("1\n")
            #expect(try await producerChunks.next() == "1\n")
            let consumer = try await context.resumableStream("test", makeStream: writer.source).resumed()
            writer.write("2\n")
            writer.close()
            #expect(try await producerChunks.next() == "2\n")
            #expect(try await producerChunks.next() == nil)
            #expect(try await consumer.collect() == "1\n2\n")
        }
    }

    @Test("should actually stream", arguments: Backend.allCases)
    func actuallyStreams(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            var producerChunks = producer.makeAsyncIterator()
            writer.write("1\n")
            #expect(try await producerChunks.next() == "1\n")
            let consumer = try await context.resumableStream("test", makeStream: writer.source).resumed()
            var consumerChunks = consumer.makeAsyncIterator()
            #expect(try await consumerChunks.next() == "1\n")
            writer.write("2\n")
            writer.close()
            #expect(try await producerChunks.next() == "2\n")
            #expect(try await consumerChunks.next() == "2\n")
            #expect(try await producerChunks.next() == nil)
            #expect(try await consumerChunks.next() == nil)
        }
    }

    @Test("should actually stream producer first", arguments: Backend.allCases)
    func actuallyStreamsProducerFirst(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            var producerChunks = producer.makeAsyncIterator()
            writer.write("1\n")
            #expect(try await producerChunks.next() == "1\n")
            let consumer = try await context.resumableStream("test", makeStream: writer.source).resumed()
            writer.write("2\n")
            writer.close()
            #expect(try await producerChunks.next() == "2\n")
            #expect(try await consumer.collect() == "1\n2\n")
        }
    }

    @Test("should actually stream consumer first", arguments: Backend.allCases)
    func actuallyStreamsConsumerFirst(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            let consumer = try await context.resumableStream("test", makeStream: writer.source).resumed()
            var consumerChunks = consumer.makeAsyncIterator()
            writer.write("1\n")
            #expect(try await consumerChunks.next() == "1\n")
            writer.write("2\n")
            writer.close()
            #expect(try await consumerChunks.next() == "2\n")
            #expect(try await consumerChunks.next() == nil)
            #expect(try await producer.collect() == "1\n2\n")
        }
    }

    @Test("should resume multiple streams", arguments: Backend.allCases)
    func resumesMultipleStreams(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            var producerChunks = producer.makeAsyncIterator()
            writer.write("1\n")
            #expect(try await producerChunks.next() == "1\n")
            let first = try await context.resumableStream("test", makeStream: writer.source).resumed()
            writer.write("2\n")
            #expect(try await producerChunks.next() == "2\n")
            let second = try await context.resumableStream("test", makeStream: writer.source).resumed()
            writer.close()
            #expect(try await producerChunks.next() == nil)
            #expect(try await first.collect() == "1\n2\n")
            #expect(try await second.collect() == "1\n2\n")
        }
    }

    @Test("should differentiate between streams", arguments: Backend.allCases)
    func differentiatesBetweenStreams(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer1 = Writer()
            let writer2 = Writer()
            let producer1 = try await context.resumableStream("test", makeStream: writer1.source).created()
            let producer2 = try await context.resumableStream("test2", makeStream: writer2.source).created()
            let consumer1 = try await context.resumableStream("test", makeStream: writer1.source).resumed()
            let consumer2 = try await context.resumableStream("test2", makeStream: writer2.source).resumed()
            writer1.write("1\n")
            writer1.write("2\n")
            writer2.write("writer2\n")
            writer1.close()
            writer2.close()
            #expect(try await consumer1.collect() == "1\n2\n")
            #expect(try await consumer2.collect() == "writer2\n")
            #expect(try await producer1.collect() == "1\n2\n")
            #expect(try await producer2.collect() == "writer2\n")
        }
    }

    @Test("should respect skipCharacters (2, 4 and 0)", arguments: Backend.allCases, [(2, "2\n"), (4, ""), (0, "1\n2\n")])
    func respectsSkipCharacters(_ backend: Backend, _ skip: (Int, String)) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            var producerChunks = producer.makeAsyncIterator()
            writer.write("1\n")
            #expect(try await producerChunks.next() == "1\n")
            writer.write("2\n")
            #expect(try await producerChunks.next() == "2\n")
            let consumer = try await context.resumableStream("test", skipCharacters: skip.0, makeStream: writer.source).resumed()
            writer.close()
            #expect(try await consumer.collect() == skip.1)
        }
    }

    @Test("should return null if stream is done", arguments: Backend.allCases)
    func alreadyDoneAfterCompletion(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("test", makeStream: writer.source).created()
            writer.write("1\n")
            writer.close()
            #expect(try await producer.collect() == "1\n")
            #expect(await context.drain(timeout: .seconds(5)))
            let again = try await context.resumableStream("test") { () -> AsyncStream<String> in
                Issue.record("makeStream must not be called for a finished stream")
                return AsyncStream { $0.finish() }
            }
            guard case .alreadyDone = again else { Issue.record("expected .alreadyDone, got \(again)"); return }
        }
    }

    @Test("should support the deconstructed APIs", arguments: Backend.allCases)
    func deconstructedAPIs(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.createNewResumableStream("test", makeStream: writer.source)
            let consumer = try await context.resumeExistingStream("test").resumed()
            writer.write("1\n")
            writer.write("2\n")
            writer.close()
            #expect(try await producer.collect() == "1\n2\n")
            #expect(try await consumer.collect() == "1\n2\n")
        }
    }

    @Test("should return null if stream is done explicit APIs", arguments: Backend.allCases)
    func alreadyDoneForExplicitAPIs(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.createNewResumableStream("test", makeStream: writer.source)
            writer.write("1\n")
            writer.close()
            #expect(try await producer.collect() == "1\n")
            #expect(await context.drain(timeout: .seconds(5)))
            let again = try await context.resumeExistingStream("test")
            guard case .alreadyDone = again else { Issue.record("expected .alreadyDone, got \(again)"); return }
            let missing = try await context.resumeExistingStream("never-created")
            guard case .notFound = missing else { Issue.record("expected .notFound, got \(missing)"); return }
        }
    }
}

/// The TypeScript package's `generic.test.ts` (custom publisher and subscriber): the in-process backend is
/// such a custom implementation. Its fourth case ("should throw error if publisher is not provided") has no
/// Swift counterpart: the initialiser requires both, so it cannot be called without them.
@Suite("The TypeScript generic suite, ported", .timeLimit(.minutes(1)))
struct GenericSuiteTests {
    @Test("should work with custom publisher/subscriber implementations")
    func customImplementations() async throws {
        try await withContext(.inMemory) { context in
            let writer = Writer()
            let stream = try await context.resumableStream("custom", makeStream: writer.source).created()
            writer.write("Hello ")
            writer.write("World!")
            writer.close()
            #expect(try await stream.collect() == "Hello World!")
        }
    }

    @Test("should resume streams with custom implementations")
    func resumeWithCustomImplementations() async throws {
        try await withContext(.inMemory) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("custom", makeStream: writer.source).created()
            let consumer = try await context.resumableStream("custom") { () -> AsyncStream<String> in
                Issue.record("the consumer's makeStream must not be called")
                return AsyncStream { $0.finish() }
            }.resumed()
            writer.write("Part 1 ")
            writer.write("Part 2")
            writer.close()
            #expect(try await producer.collect() == "Part 1 Part 2")
            #expect(try await consumer.collect() == "Part 1 Part 2")
        }
    }

    @Test("should return null if stream is done")
    func doneWithCustomImplementations() async throws {
        try await withContext(.inMemory) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("custom", makeStream: writer.source).created()
            writer.write("done")
            writer.close()
            _ = try await producer.collect()
            #expect(await context.drain(timeout: .seconds(5)))
            let again = try await context.resumeExistingStream("custom")
            guard case .alreadyDone = again else { Issue.record("expected .alreadyDone, got \(again)"); return }
        }
    }
}
