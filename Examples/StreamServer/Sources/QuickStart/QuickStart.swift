import Hummingbird
import ResumableStream
import ResumableStreamServiceLifecycle

/// A resumable stream of server-sent events: `GET /streams/{id}` creates it, or resumes it on any instance from
/// `Last-Event-ID` or `?resumeAt=N`; `DELETE /streams/{id}` stops it.
@main
struct QuickStart {
    static func main() async throws {
        // One context per process, shared by every request: it holds the two Redis connections.
        let streams = ResumableStreamContext(redis: try .fromEnvironment())  // REDIS_URL, then KV_URL
        // A Redis that does not answer is logged once, as a warning; requests get 503 until it does.
        try? await streams.ping()

        let router = Router()
        router.get("/streams/:id") { request, context -> Response in
            let id = try context.parameters.require("id")
            let skip = ServerSentEvents.skipCharacters(
                lastEventID: request.headers[.init("Last-Event-ID")!], resumeAt: request.uri.queryParameters.get("resumeAt"))
            return try await unavailableIsA503 {
                switch try await streams.resumableStream(id, skipCharacters: skip, makeStream: { tokens() }) {
                case .created(let stream), .resumed(let stream), .finished(let stream):
                    return .serverSentEvents(stream.serverSentEvents(startingAt: skip ?? 0))
                case .alreadyDone: return Response(status: .init(code: 422))
                case .notFound: return Response(status: .notFound)
                case .producerUnreachable: return Response(status: .serviceUnavailable)
                }
            }
        }
        router.delete("/streams/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            return try await unavailableIsA503 {
                Response(status: try await streams.stop(id) == .notFound ? .notFound : .accepted)
            }
        }

        // On SIGTERM or SIGINT the server stops, then the context lets its producers finish.
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 8080)), services: [streams])
        try await app.runService()
    }

    /// The stream's source: any `AsyncSequence` of `String`, such as a model's tokens.
    static func tokens() -> AsyncStream<String> {
        AsyncStream { continuation in
            let producing = Task {
                for number in 1...20 {
                    continuation.yield("token \(number) ")
                    try await Task.sleep(for: .milliseconds(200))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in producing.cancel() }
        }
    }

    /// Redis unreachable, refusing or too slow, or the context shutting down: 503 with `Retry-After`.
    static func unavailableIsA503(_ respond: () async throws -> Response) async throws -> Response {
        do {
            return try await respond()
        } catch  where ResumableStreamContext.isUnavailable(error) {
            let reason = ResponseBody(byteBuffer: ByteBuffer(string: "\(error)\n"))
            return Response(status: .serviceUnavailable, headers: [.retryAfter: "1"], body: reason)
        }
    }
}

extension Response {
    /// A `text/event-stream` response that writes each event as it comes.
    static func serverSentEvents(_ events: ServerSentEvents) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                for try await event in events { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            })
    }
}
