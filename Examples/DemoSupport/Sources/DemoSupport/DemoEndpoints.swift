import Logging
import ResumableStream

/// The example servers' endpoints without a web framework: each takes what its route read from the request
/// and gives the ``DemoReply`` that the server's routing turns into a response. Both ways of serving a stream
/// (the idempotent `GET /streams/:id`, and the split `POST` then `GET /explicit/streams/:id`), stop, status, the
/// page and the metrics.
public struct DemoEndpoints: Sendable {
    /// The process's one context, shared by every request.
    public let streams: ResumableStreamContext
    /// The pause before each token of a stream this instance produces.
    public let tokenDelay: Duration
    /// The metrics to show at `/metrics`.
    public let metrics: DemoMetrics

    /// The endpoints over `streams`.
    public init(streams: ResumableStreamContext, tokenDelay: Duration, metrics: DemoMetrics) {
        self.streams = streams
        self.tokenDelay = tokenDelay
        self.metrics = metrics
    }

    /// The start-up check: one line at warning level if Redis does not answer (the server starts anyway, and
    /// answers 503 until it does).
    public func checkRedis(logger: Logger) async {
        do {
            try await streams.ping()
        } catch {
            logger.warning("Redis does not answer; requests get 503 until it does", metadata: ["reason": "\(error)"])
        }
    }

    /// `GET /`: the page, whose `EventSource` resumes by itself.
    public func page() -> DemoReply {
        DemoReply(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: .text(DemoPage.html))
    }

    /// `GET /streams/:id`, the idempotent API: creates the stream, or resumes it from the `Last-Event-ID` header
    /// or the `resumeAt` query parameter.
    public func stream(_ id: String, lastEventID: String?, resumeAt: String?) async throws -> DemoReply {
        let skip = ServerSentEvents.skipCharacters(lastEventID: lastEventID, resumeAt: resumeAt)
        let tokenDelay = tokenDelay
        return reply(try await streams.resumableStream(id, skipCharacters: skip) { DemoTokens(delay: tokenDelay) }, skip: skip)
    }

    /// `POST /explicit/streams/:id`: starts the stream anew.
    public func createStream(_ id: String) async throws -> DemoReply {
        let tokenDelay = tokenDelay
        return reply(.created(try await streams.createNewResumableStream(id) { DemoTokens(delay: tokenDelay) }), skip: nil)
    }

    /// `GET /explicit/streams/:id`: follows a stream that exists (404 if none).
    public func resumeStream(_ id: String, lastEventID: String?, resumeAt: String?) async throws -> DemoReply {
        let skip = ServerSentEvents.skipCharacters(lastEventID: lastEventID, resumeAt: resumeAt)
        return reply(try await streams.resumeExistingStream(id, skipCharacters: skip), skip: skip)
    }

    /// `DELETE /streams/:id`: stops a stream, whichever instance produces it (202), or 404 if none runs or
    /// finished under the id.
    public func stop(_ id: String) async throws -> DemoReply {
        switch try await streams.stop(id) {
        case .stopping: .text(202, "stopping")
        case .awaitingProducer: .text(202, "awaiting producer")
        case .alreadyDone: .text(202, "already done")
        case .notFound: .text(404, "no such stream")
        }
    }

    /// `GET /streams/:id/status`: `none`, `in progress` or `done`.
    public func status(_ id: String) async throws -> DemoReply {
        let state =
            switch try await streams.hasExistingStream(id) {
            case .none: "none"
            case .inProgress: "in progress"
            case .done: "done"
            }
        return .text(200, state)
    }

    /// `GET /metrics`: the Prometheus text.
    public func metricsText() -> DemoReply {
        DemoReply(status: 200, headers: [("Content-Type", "text/plain; charset=utf-8")], body: .text(metrics.text()))
    }

    /// A stream (live, or the rest of a finished one) as server-sent events; the other outcomes as 422, 404 and 503.
    private func reply(_ result: ResumableStreamResult, skip: Int?) -> DemoReply {
        switch result {
        case .created(let stream), .resumed(let stream), .finished(let stream):
            // The ids count from where the stream really starts (a new producer starts at 0 whatever the client
            // asked, as in TypeScript); `skip` only counts for a TypeScript producer, which does not say.
            .events(stream.serverSentEvents(startingAt: skip ?? 0))
        case .alreadyDone: .text(422, "Stream is already done")
        case .notFound: .text(404, "No such stream")
        case .producerUnreachable: .text(503, "The stream's producer is unreachable")
        }
    }
}
