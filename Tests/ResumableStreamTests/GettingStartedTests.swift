import ResumableStream
import Testing

// The code of the DocC article GettingStarted.md, verbatim, so that it keeps compiling and working.

/// A simulated token stream.
func makeTokenStream() -> AsyncStream<String> {
    AsyncStream { continuation in
        for token in ["Hello", ", ", "wörld", " 🌍"] { continuation.yield(token) }
        continuation.finish()
    }
}

/// What a `GET /streams/{id}?resumeAt=N` handler answers: a status and a `text/event-stream` body.
func handle(_ streams: ResumableStreamContext, id: String, resumeAt: Int?) async throws -> (status: Int, body: String) {
    switch try await streams.resumableStream(id, skipCharacters: resumeAt, makeStream: makeTokenStream) {
    case .created(let stream), .resumed(let stream), .finished(let stream):
        var body = ""
        for try await event in stream.serverSentEvents(startingAt: resumeAt ?? 0) { body += event }
        return (200, body)
    case .alreadyDone:
        return (422, "Stream is already done")
    case .notFound:
        return (404, "No such stream")
    case .producerUnreachable:
        return (503, "The stream's producer is unreachable")
    }
}

@Suite("The getting-started article", .timeLimit(.minutes(1)))
struct GettingStartedTests {
    @Test func theArticlesHandlerServesThenAnswersAlreadyDone() async throws {
        let backend = InMemoryBackend()
        let streams = ResumableStreamContext(publisher: backend, subscriber: backend)
        let first = try await handle(streams, id: "article", resumeAt: nil)
        #expect(first.status == 200)
        #expect(first.body.hasPrefix("retry: 1000\n\nid: 5\ndata: \"Hello\"\n\n"))
        #expect(first.body.hasSuffix("id: 15\ndata: \" 🌍\"\n\nevent: end\ndata: \"\"\n\n"))
        _ = await streams.drain(timeout: .seconds(5))
        let again = try await handle(streams, id: "article", resumeAt: 5)
        #expect(again.status == 422)
        await streams.shutdown(gracePeriod: .seconds(30))
    }
}
