import Foundation
import ResumableStream
import Testing

// The code of the DocC article GettingStarted.md, verbatim (scripts/check-snippets.sh), so that it keeps compiling
// and working.

// snippet: begin
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
// snippet: end

@Suite("The getting-started article", .timeLimit(.minutes(1)))
struct GettingStartedTests {
    @Test func theArticlesHandlerServesThenAnswersAlreadyDone() async throws {
        let backend = InMemoryBackend()
        let streams = ResumableStreamContext(publisher: backend, subscriber: backend)
        let first = try await handle(streams, id: "article", resumeAt: nil)
        #expect(first.status == 200)
        // Tokens that came while the handler was still writing the last share an event; each id is where the
        // text up to its event ends.
        let events = first.body.split(separator: "\n\n").map(String.init)
        #expect(events.first == "retry: 1000")
        #expect(events.last == "event: end\ndata: \"\"")
        var text = ""
        for event in events.dropFirst().dropLast() {
            let lines = event.split(separator: "\n")
            let data = try JSONSerialization.jsonObject(with: Data(lines[1].dropFirst(6).utf8), options: .fragmentsAllowed) as? String
            text += data ?? ""
            #expect(lines[0] == "id: \(text.utf16.count)")
        }
        #expect(text == "Hello, wörld 🌍")
        _ = await streams.drain(timeout: .seconds(5))
        let again = try await handle(streams, id: "article", resumeAt: 5)
        #expect(again.status == 422)
        await streams.shutdown(gracePeriod: .seconds(30))
    }
}
