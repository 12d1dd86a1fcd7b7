import ResumableStream

/// The doc comment of `ResumableStreamContext`: a stream made or followed, its chunks sent as they come.
func produceOrFollow(resumeAt: Int?, makeTokenStream: @escaping @Sendable () -> AsyncStream<String>) async throws {
    // The application's response, as the snippet writes it.
    func send(_ chunk: String) {}
    func respond(_ status: Int) {}

    // snippet: begin
    let context = try ResumableStreamContext(redis: .fromEnvironment())
    switch try await context.resumableStream("chat-42", skipCharacters: resumeAt, makeStream: makeTokenStream) {
    case .created(let stream), .resumed(let stream), .finished(let stream): for try await chunk in stream { send(chunk) }
    case .alreadyDone: respond(422)
    case .notFound: respond(404)
    case .producerUnreachable: respond(503)
    }
    // snippet: end
}
