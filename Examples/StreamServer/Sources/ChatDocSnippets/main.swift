// The ```swift blocks of the article Resumable chats with the AI SDK (ResumableChats.md), compiled by `make demo`;
// `make lint` (scripts/check-snippets.sh) checks that each block is the text of a `// snippet: begin` ...
// `// snippet: end` region here. They are top-level code that declares `streams`, as Getting Started's first
// block does in DocSnippets, hence a target of their own. Running it builds a context, which connects to nothing
// before its first call, and a router, and returns.
import HTTPTypes
import Hummingbird
// snippet: begin
import ResumableStream
import ResumableStreamAISDK

let streams = ResumableStreamContext(redis: try .fromEnvironment())
let chats = AIChatStreams(context: streams)
// snippet: end

/// A stand-in for the application's model client.
struct ChatModel: Sendable {
    /// The answer to `messages`, piece by piece.
    func streamText(_ messages: [AIChatRequest.Message]) async throws -> AsyncStream<String> {
        AsyncStream { $0.finish() }
    }
}

let router = Router()
let model = ChatModel()

// snippet: begin
router.post("/api/chat") { request, context in
    let chat = try await request.decode(as: AIChatRequest.self, context: context)
    let body = try await chats.startAnswer(chatID: chat.id) { try await model.streamText(chat.messages) }
    return Response(status: .ok, headers: .uiMessageStream, body: .events(body))
}

router.get("/api/chat/:id/stream") { _, context in
    switch try await chats.resumeAnswer(chatID: try context.parameters.require("id")) {
    case .stream(let body): Response(status: .ok, headers: .uiMessageStream, body: .events(body))
    case .noContent: Response(status: .noContent)
    case .producerUnreachable: Response(status: .serviceUnavailable)
    }
}

router.post("/api/chat/:id/stop") { _, context in
    try await chats.stopAnswer(chatID: try context.parameters.require("id"))
    return Response(status: .noContent)
}

extension HTTPFields {
    static let uiMessageStream = HTTPFields(UIMessageStreamHeaders.all.map { HTTPField(name: .init($0.name)!, value: $0.value) })
}

extension ResponseBody {
    static func events(_ body: UIMessageStreamBody) -> ResponseBody {
        ResponseBody { writer in
            for await events in body { try await writer.write(ByteBuffer(string: events)) }
            try await writer.finish(nil)
        }
    }
}
// snippet: end
