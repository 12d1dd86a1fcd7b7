import ResumableStream

// GettingStarted.md, "Produce or resume in a request handler".
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

/// GettingStarted.md, "Let producers finish".
func letProducersFinish(_ streams: ResumableStreamContext) async {
    // snippet: begin
    await streams.shutdown(gracePeriod: .seconds(30))
    // snippet: end
}
