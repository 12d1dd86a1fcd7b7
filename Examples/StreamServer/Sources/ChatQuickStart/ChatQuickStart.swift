import Foundation
import Hummingbird
import ResumableStream
import ResumableStreamAISDK
import ResumableStreamServiceLifecycle

/// The AI SDK's `useChat({ resume: true })` served by any instance: `POST /api/chat` answers, `GET
/// /api/chat/{id}/stream` resumes the answer in progress (204 when there is none), `POST /api/chat/{id}/stop`
/// stops it.
@main
struct ChatQuickStart {
    static func main() async throws {
        let streams = ResumableStreamContext(redis: try .fromEnvironment())
        let chats = AIChatStreams(context: streams)

        let router = Router()
        // snippet: begin
        router.post("/api/chat") { request, context -> Response in
            let chat = try await request.decode(as: AIChatRequest.self, context: context)
            let answer = try await chats.startAnswer(chatID: chat.id) { reply(to: chat.messages) }
            return .uiMessageStream(answer)
        }
        router.get("/api/chat/:id/stream") { _, context -> Response in
            switch try await chats.resumeAnswer(chatID: try context.parameters.require("id")) {
            case .stream(let answer): .uiMessageStream(answer)
            case .noContent: Response(status: .noContent)
            case .producerUnreachable: Response(status: .serviceUnavailable)
            }
        }
        // snippet: end
        router.post("/api/chat/:id/stop") { _, context -> Response in
            try await chats.stopAnswer(chatID: try context.parameters.require("id"))
            return Response(status: .noContent)
        }

        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 8080)), services: [streams])
        try await app.runService()
    }

    /// The answer's text, piece by piece: your model's client goes here (the example servers call any
    /// OpenAI-compatible endpoint).
    static func reply(to messages: [AIChatRequest.Message]) -> AsyncStream<String> {
        let words = "You said: \(messages.last?.text ?? "")".split(separator: " ").map { "\($0) " }
        return AsyncStream { continuation in
            let producing = Task {
                for word in words {
                    continuation.yield(word)
                    try await Task.sleep(for: .milliseconds(100))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in producing.cancel() }
        }
    }
}

extension Response {
    /// A UI message stream response: the AI SDK's headers, each event written as it comes.
    static func uiMessageStream(_ answer: UIMessageStreamBody) -> Response {
        var headers = HTTPFields()
        for (name, value) in UIMessageStreamHeaders.all { headers[.init(name)!] = value }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                for await events in answer { try await writer.write(ByteBuffer(string: events)) }
                try await writer.finish(nil)
            })
    }
}
