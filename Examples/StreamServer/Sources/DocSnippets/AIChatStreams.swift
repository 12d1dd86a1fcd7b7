import ResumableStream
import ResumableStreamAISDK

/// The doc comment of `AIChatStreams`: the three routes of a chat backend, for the chat `id`.
func chatRoutes(streams: ResumableStreamContext, id: String, messages: [AIChatRequest.Message], model: ChatModel) async throws {
    // The application's response, as the snippet writes it.
    func respond(_ status: Int, headers: [(name: String, value: String)] = [], body: UIMessageStreamBody? = nil) {}

    // snippet: begin
    let chats = AIChatStreams(context: streams)

    // POST /api/chat: a new answer (a regenerated one too) in the chat `id` of the body.
    let body = try await chats.startAnswer(chatID: id) { try await model.streamText(messages) }
    respond(200, headers: UIMessageStreamHeaders.all, body: body)  // the body written event by event

    // GET /api/chat/{id}/stream: useChat asks on mount.
    switch try await chats.resumeAnswer(chatID: id) {
    case .stream(let body): respond(200, headers: UIMessageStreamHeaders.all, body: body)
    case .noContent: respond(204)
    case .producerUnreachable: respond(503)
    }

    // POST /api/chat/{id}/stop: the stop button (useChat's own stop() only drops the connection).
    try await chats.stopAnswer(chatID: id)
    // snippet: end
}
