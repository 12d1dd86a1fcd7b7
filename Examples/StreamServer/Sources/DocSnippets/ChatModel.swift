import ResumableStreamAISDK

/// A stand-in for the application's model client: the `model` of the chat snippets.
struct ChatModel: Sendable {
    /// The answer to `messages`, piece by piece.
    func streamText(_ messages: [AIChatRequest.Message]) async throws -> AsyncStream<String> {
        AsyncStream { $0.finish() }
    }
}
