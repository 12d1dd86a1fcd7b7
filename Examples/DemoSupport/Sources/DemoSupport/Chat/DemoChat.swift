import Foundation
import ResumableStream
import ResumableStreamAISDK

/// The chat routes of the example servers, for the AI SDK's `useChat({ resume: true })` and the page's chat
/// view, without a web framework: each takes what its route read and gives the ``DemoReply`` to send.
///
/// - `POST /api/chat`: a new answer (a regenerated one too) from the ``ChatModel``, as a UI message stream.
/// - `GET /api/chat/{id}/stream`: the answer in progress from its start (200), or 204 when there is none.
/// - `POST /api/chat/{id}/stop`: stops the answer in progress, whichever instance runs it, and the model's
///   request with it.
public struct DemoChat: Sendable {
    /// The answers, over the server's context.
    public let chats: AIChatStreams
    /// Where the answers come from.
    public let model: ChatModel

    /// The largest request body read: a long chat's messages.
    public static let maximumBodySize = 1 << 20

    /// The chat routes over `streams`, answered by `model`. A model's failure reaches the user as its
    /// ``ChatModelError`` text; any other error as the AI SDK's `An error occurred.`.
    public init(streams: ResumableStreamContext, model: ChatModel) {
        chats = AIChatStreams(context: streams, errorText: { error in (error as? ChatModelError)?.description ?? "An error occurred." })
        self.model = model
    }

    /// `POST /api/chat` with the AI SDK's JSON body (`{ id, messages, trigger, messageId }`); 400 if it is not one.
    public func send(body: Data) async throws -> DemoReply {
        guard let request = try? JSONDecoder().decode(AIChatRequest.self, from: body), !request.id.isEmpty else {
            return .text(400, "The body is not an AI SDK chat request ({ id, messages })")
        }
        let model = model
        let messages = request.messages
        return .uiMessageStream(try await chats.startAnswer(chatID: request.id) { model.answer(to: messages) })
    }

    /// `GET /api/chat/{id}/stream`: 200 with the answer in progress from its start, 204 if there is none, 503
    /// if its instance does not answer.
    public func resume(chatID: String) async throws -> DemoReply {
        switch try await chats.resumeAnswer(chatID: chatID) {
        case .stream(let body): .uiMessageStream(body)
        case .noContent: DemoReply(status: 204, headers: [], body: .text(""))
        case .producerUnreachable: .text(503, "The instance that runs this answer does not answer")
        }
    }

    /// `POST /api/chat/{id}/stop`: 200 if an answer was stopped, 404 if none was in progress.
    public func stop(chatID: String) async throws -> DemoReply {
        try await chats.stopAnswer(chatID: chatID) ? .text(200, "stopped") : .text(404, "No answer in progress")
    }
}
