import DemoSupport
import Foundation
import Vapor

/// The HTTP surface in Vapor's router: both ways of serving a stream, stop, status, the AI SDK's chat routes,
/// the page and the metrics, as the Hummingbird example has them. What each route answers is in
/// ``DemoEndpoints`` and ``DemoChat``, shared with it.
struct Routes: Sendable {
    let endpoints: DemoEndpoints
    let chat: DemoChat

    func register(on routes: any RoutesBuilder) {
        routes.get { _ in Response(endpoints.page()) }
        // The idempotent API: creates the stream, or resumes it (`?resumeAt=N` or `Last-Event-ID`).
        routes.get("streams", ":id") { request in
            let id = try request.parameters.require("id")
            return Response(try await endpoints.stream(id, lastEventID: lastEventID(request), resumeAt: resumeAt(request)))
        }
        // The split API: POST creates, GET on /explicit resumes.
        routes.post("explicit", "streams", ":id") { request in
            Response(try await endpoints.createStream(try request.parameters.require("id")))
        }
        routes.get("explicit", "streams", ":id") { request in
            let id = try request.parameters.require("id")
            return Response(try await endpoints.resumeStream(id, lastEventID: lastEventID(request), resumeAt: resumeAt(request)))
        }
        // Stops a stream, whichever instance produces it.
        routes.delete("streams", ":id") { request in
            Response(try await endpoints.stop(try request.parameters.require("id")))
        }
        routes.get("streams", ":id", "status") { request in
            Response(try await endpoints.status(try request.parameters.require("id")))
        }
        routes.get("metrics") { _ in Response(endpoints.metricsText()) }
        // The AI SDK's chat transport (`useChat({ resume: true })`), and the page's chat view.
        routes.on(.POST, "api", "chat", body: .collect(maxSize: ByteCount(value: DemoChat.maximumBodySize))) { request in
            let body = request.body.data.map { Data($0.readableBytesView) } ?? Data()
            return Response(try await chat.send(body: body))
        }
        routes.get("api", "chat", ":id", "stream") { request in
            Response(try await chat.resume(chatID: try request.parameters.require("id")))
        }
        routes.post("api", "chat", ":id", "stop") { request in
            Response(try await chat.stop(chatID: try request.parameters.require("id")))
        }
    }

    private func lastEventID(_ request: Request) -> String? {
        request.headers.first(name: "Last-Event-ID")
    }

    private func resumeAt(_ request: Request) -> String? {
        request.query[String.self, at: "resumeAt"]
    }
}

extension Response {
    /// The response for a ``DemoReply``: a stream is written event by event, as the events come.
    convenience init(_ reply: DemoReply) {
        var headers = HTTPHeaders()
        for (name, value) in reply.headers { headers.replaceOrAdd(name: name, value: value) }
        let body: Body
        switch reply.body {
        case .text(let text):
            body = Body(string: text)
        case .events(let events):
            // Managed: ends the chunked body when the events end, and cuts the connection when they fail (as
            // Hummingbird does), so that a client sees the difference.
            body = Body(managedAsyncStream: { writer in
                for try await event in events { try await writer.write(.buffer(ByteBuffer(string: event))) }
            })
        }
        self.init(status: HTTPResponseStatus(statusCode: reply.status), headers: headers, body: body)
    }
}
