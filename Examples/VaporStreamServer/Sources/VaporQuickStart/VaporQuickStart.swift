import ResumableStream
import Vapor

/// A resumable stream of server-sent events in Vapor: `GET /streams/{id}` creates it, or resumes it on any
/// instance from `Last-Event-ID` or `?resumeAt=N`; `DELETE /streams/{id}` stops it.
@main
struct VaporQuickStart {
    static func main() async throws {
        // One context per process, shared by every request: it holds the two Redis connections.
        let streams = ResumableStreamContext(redis: try .fromEnvironment())  // REDIS_URL, then KV_URL
        // A Redis that does not answer is logged once, as a warning; requests get 503 until it does.
        try? await streams.ping()

        let app = try await Application.make(.detect())
        app.get("streams", ":id") { request async throws -> Response in
            let id = try request.parameters.require("id")
            let skip = ServerSentEvents.skipCharacters(
                lastEventID: request.headers.first(name: "Last-Event-ID"), resumeAt: request.query[String.self, at: "resumeAt"])
            return try await unavailableIsA503 {
                switch try await streams.resumableStream(id, skipCharacters: skip, makeStream: { tokens() }) {
                case .created(let stream), .resumed(let stream), .finished(let stream):
                    return .serverSentEvents(stream.serverSentEvents())
                case .alreadyDone: return Response(status: .unprocessableEntity)
                case .notFound: return Response(status: .notFound)
                case .producerUnreachable: return Response(status: .serviceUnavailable)
                }
            }
        }
        app.delete("streams", ":id") { request async throws -> Response in
            let id = try request.parameters.require("id")
            return try await unavailableIsA503 {
                Response(status: try await streams.stop(id) == .notFound ? .notFound : .accepted)
            }
        }

        // Serves until SIGTERM or SIGINT; then the context lets its producers finish for their readers.
        try await app.execute()
        try await app.asyncShutdown()
        await streams.shutdown(gracePeriod: .seconds(30))
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
            return Response(status: .serviceUnavailable, headers: ["Retry-After": "1"], body: .init(string: "\(error)\n"))
        }
    }
}

extension Response {
    /// A `text/event-stream` response that writes each event as it comes.
    static func serverSentEvents(_ events: ServerSentEvents) -> Response {
        Response(
            status: .ok, headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache"],
            body: .init(managedAsyncStream: { writer in
                for try await event in events { try await writer.write(.buffer(ByteBuffer(string: event))) }
            }))
    }
}
