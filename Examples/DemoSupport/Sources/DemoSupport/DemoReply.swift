import RedisBridge
import ResumableStream
import ResumableStreamAISDK

/// What an example server answers, before its framework turns it into a response: a status code, headers and
/// either a whole text or a stream of server-sent events (this library's, or the AI SDK's UI message stream).
public struct DemoReply: Sendable {
    /// What the response carries.
    public enum Body: Sendable {
        /// The whole body at once.
        case text(String)
        /// One write per event, for as long as the stream runs.
        case events(any AsyncSequence<String, any Error> & Sendable)
    }

    /// The HTTP status code.
    public let status: Int
    /// The headers, by name.
    public let headers: [(name: String, value: String)]
    /// The body.
    public let body: Body

    /// A stream as `text/event-stream`.
    static func events(_ events: ServerSentEvents) -> DemoReply {
        DemoReply(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")], body: .events(events))
    }

    /// An AI SDK UI message stream, with its headers.
    static func uiMessageStream(_ body: UIMessageStreamBody) -> DemoReply {
        DemoReply(status: 200, headers: UIMessageStreamHeaders.all, body: .events(ThrowingEvents(body)))
    }

    /// A line of plain text (the newline is added).
    static func text(_ status: Int, _ line: String) -> DemoReply {
        DemoReply(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: .text(line + "\n"))
    }

    /// `503 Service Unavailable` with a one-line reason and `Retry-After: 1`, for an error that means "cannot serve
    /// now": Redis unreachable, refusing or too slow (``RedisError``), or the server shutting down; `nil` for any
    /// other error. The servers log `reason` and answer this instead of an empty 500.
    public static func unavailable(for error: any Error) -> (reply: DemoReply, reason: String)? {
        guard ResumableStreamContext.isUnavailable(error) else { return nil }
        let reason = error is RedisError ? "Redis is unavailable: \(error)" : "The server is shutting down"
        let reply = DemoReply(
            status: 503, headers: [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "1")], body: .text(reason + "\n"))
        return (reply, reason)
    }
}

/// A body that never fails, seen as one that may (what ``DemoReply/Body/events(_:)`` holds).
private struct ThrowingEvents: AsyncSequence, Sendable {
    let body: UIMessageStreamBody

    init(_ body: UIMessageStreamBody) {
        self.body = body
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: body.makeAsyncIterator())
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: UIMessageStreamBody.AsyncIterator

        mutating func next() async throws -> String? {
            await base.next()
        }
    }
}
