import Hummingbird
import ResumableStream

/// ServerSentEventsArticle.md, "Overview": the answer of a Hummingbird `GET /streams/{id}` route.
func serverSentEventsRoute(
    _ request: Request, id: String, streams: ResumableStreamContext, tokens: @escaping @Sendable () -> AsyncStream<String>
) async throws -> Response {
    // snippet: begin
    let skip = ServerSentEvents.skipCharacters(
        lastEventID: request.headers[.init("Last-Event-ID")!], resumeAt: request.uri.queryParameters.get("resumeAt"))
    switch try await streams.resumableStream(id, skipCharacters: skip, makeStream: { tokens() }) {
    case .created(let stream), .resumed(let stream), .finished(let stream):
        return .serverSentEvents(stream.serverSentEvents(startingAt: skip ?? 0))
    case .alreadyDone: return Response(status: .init(code: 422))
    case .notFound: return Response(status: .notFound)
    case .producerUnreachable: return Response(status: .serviceUnavailable)
    }
    // snippet: end
}

extension Response {
    /// A `text/event-stream` response that writes each event as it comes (the quick start's).
    fileprivate static func serverSentEvents(_ events: ServerSentEvents) -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                for try await event in events { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            })
    }
}
