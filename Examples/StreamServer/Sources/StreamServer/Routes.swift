import DemoSupport
import Foundation
import Hummingbird

/// The HTTP surface in Hummingbird's router: both ways of serving a stream, stop, status, the AI SDK's chat
/// routes, the page and the metrics. What each route answers is in ``DemoEndpoints`` and ``DemoChat``, shared
/// with the Vapor example.
struct Routes: Sendable {
    let endpoints: DemoEndpoints
    let chat: DemoChat

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Response(endpoints.page()) }
        // The idempotent API: creates the stream, or resumes it (`?resumeAt=N` or `Last-Event-ID`).
        router.get("/streams/:id") { request, context in
            let id = try context.parameters.require("id")
            return Response(try await endpoints.stream(id, lastEventID: lastEventID(request), resumeAt: resumeAt(request)))
        }
        // The split API: POST creates, GET on /explicit resumes.
        router.post("/explicit/streams/:id") { _, context in
            Response(try await endpoints.createStream(try context.parameters.require("id")))
        }
        router.get("/explicit/streams/:id") { request, context in
            let id = try context.parameters.require("id")
            return Response(try await endpoints.resumeStream(id, lastEventID: lastEventID(request), resumeAt: resumeAt(request)))
        }
        // Stops a stream, whichever instance produces it.
        router.delete("/streams/:id") { _, context in
            Response(try await endpoints.stop(try context.parameters.require("id")))
        }
        router.get("/streams/:id/status") { _, context in
            Response(try await endpoints.status(try context.parameters.require("id")))
        }
        router.get("/metrics") { _, _ in Response(endpoints.metricsText()) }
        // The AI SDK's chat transport (`useChat({ resume: true })`), and the page's chat view.
        router.post("/api/chat") { request, _ in
            let body = try await request.body.collect(upTo: DemoChat.maximumBodySize)
            return Response(try await chat.send(body: Data(body.readableBytesView)))
        }
        router.get("/api/chat/:id/stream") { _, context in
            Response(try await chat.resume(chatID: try context.parameters.require("id")))
        }
        router.post("/api/chat/:id/stop") { _, context in
            Response(try await chat.stop(chatID: try context.parameters.require("id")))
        }
    }

    private func lastEventID(_ request: Request) -> String? {
        request.headers[.init("Last-Event-ID")!]
    }

    private func resumeAt(_ request: Request) -> String? {
        request.uri.queryParameters.get("resumeAt")
    }
}

extension Response {
    /// The response for a ``DemoReply``: a stream is written event by event, as the events come.
    init(_ reply: DemoReply) {
        var headers = HTTPFields()
        for (name, value) in reply.headers { headers[.init(name)!] = value }
        let body: ResponseBody
        switch reply.body {
        case .text(let text):
            body = ResponseBody(byteBuffer: ByteBuffer(string: text))
        case .events(let events):
            body = ResponseBody { writer in
                for try await event in events { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            }
        }
        self.init(status: HTTPResponse.Status(code: reply.status), headers: headers, body: body)
    }
}
