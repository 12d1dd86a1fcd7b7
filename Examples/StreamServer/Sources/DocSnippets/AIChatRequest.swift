import Foundation
import ResumableStreamAISDK

/// The doc comment of `AIChatRequest`: a chat request's JSON `body` decoded, and its answer started.
func startAnswer(to body: Data, chats: AIChatStreams, model: ChatModel) async throws -> UIMessageStreamBody {
    // snippet: begin
    let chat = try JSONDecoder().decode(AIChatRequest.self, from: body)
    let answer = try await chats.startAnswer(chatID: chat.id) { try await model.streamText(chat.messages) }
    // snippet: end
    return answer
}
