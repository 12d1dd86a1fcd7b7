import Foundation
import RedisBridge

/// A resumable stream as server-sent events (`text/event-stream`) that a browser's `EventSource` resumes by
/// itself: each event's `id:` is the stream's offset after that event, in UTF-16 code units, so the
/// `Last-Event-ID` an `EventSource` sends when it reconnects is exactly the `skipCharacters` to resume from,
/// with no gap and no duplicate.
///
/// Each chunk goes out as one event whose `data:` is the chunk as a JSON string, so that newlines, `\r` and
/// any other character arrive unchanged (SSE itself would turn `\r` and `\r\n` into `\n`). A client reads it
/// with `JSON.parse(event.data)`. The response starts with a `retry:` field, so that a browser reconnects in
/// time (its default is 3 s), a comment line keeps it alive while the source pauses, so that proxies and load
/// balancers do not close it, and an `end` event says that the stream ended (an `EventSource` would otherwise
/// take the closed response for a lost connection and reconnect; the page closes it on `end`), or a `stopped`
/// event that it was stopped (``ResumableStreamContext/stop(_:)``: the page closes on it too). A failure that a
/// reconnect cannot mend (the producer failed, or died and what Redis keeps of the stream is used up) sends a
/// `failed` event, whose data names it, before the error ends the response; the page closes on it too. Any
/// other error (a Redis reconnect, a reader too slow) sends nothing: the browser reconnects and resumes.
///
/// ```
/// retry: 1000
///
/// id: 11
/// data: "Hello, wor"
///
/// : ping
///
/// event: end
/// data: ""
///
/// ```
public struct ServerSentEvents: AsyncSequence, Sendable {
    /// One complete event (or the `retry:` field, or a heartbeat comment), ready to write to the response.
    public typealias Element = String
    /// What iteration can throw: the stream's errors.
    public typealias Failure = any Error

    private let stream: ResumableTextStream
    private let startOffset: Int
    private let retry: Duration?
    private let heartbeat: Duration?
    private let endEvent: String?
    private let stoppedEvent: String?
    private let failureEvent: String?

    /// The events of `stream`, for a client that asked for it from `offset` (the `skipCharacters` it resumed
    /// with). The ids count from where the stream really starts when it knows (``ResumableTextStream/startOffset``:
    /// a Swift producer says, so an offset past the end gives ids from the end), else from `offset`.
    ///
    /// - Parameters:
    ///   - stream: the stream to send, from ``ResumableStreamContext``.
    ///   - offset: the characters the client skipped (UTF-16 code units, as it resumed with); default 0.
    ///   - retry: the reconnection delay the response asks a browser for; `nil` sends none. Default 1 s.
    ///   - heartbeat: after this long without an event, a comment line (`: ping`); `nil` sends none. Default
    ///     15 s, under the 30 to 60 s idle timeouts of common proxies and load balancers.
    ///   - endEvent: the type of the event sent when the stream ended normally (its data is `""`, and it has no
    ///     id); `nil` sends none. Default `end`.
    ///   - stoppedEvent: the type of the event sent instead when the stream was stopped (its data is `""`);
    ///     `nil` sends the end event. Default `stopped`. A stream of a TypeScript producer ends with the end
    ///     event, since it does not say.
    ///   - failureEvent: the type of the event sent before a failure that a reconnect cannot mend (its data is
    ///     the failure's name as a JSON string: `"producerFailed"`, `"producerUnreachable"` or
    ///     `"bufferLimitExceeded"`, never the source's own message); `nil` sends none. Default `failed`.
    public init(
        _ stream: ResumableTextStream, startingAt offset: Int = 0, retry: Duration? = .seconds(1),
        heartbeat: Duration? = .seconds(15), endEvent: String? = "end", stoppedEvent: String? = "stopped", failureEvent: String? = "failed"
    ) {
        self.stream = stream
        startOffset = stream.startOffset ?? Swift.max(0, offset)
        self.retry = retry
        self.heartbeat = heartbeat.map { Swift.max($0, .milliseconds(1)) }
        // One line: a type with a line break would inject fields.
        self.endEvent = endEvent.map { String($0.prefix { !$0.isNewline }) }
        self.stoppedEvent = stoppedEvent.map { String($0.prefix { !$0.isNewline }) }
        self.failureEvent = failureEvent.map { String($0.prefix { !$0.isNewline }) }
    }

    /// The name of a failure that a reconnect cannot mend, `nil` for any other error.
    private static func finalFailure(_ error: any Error) -> String? {
        guard let code = (error as? ResumableStreamError)?.code else { return nil }
        return switch code {
        case .producerFailed, .producerUnreachable, .bufferLimitExceeded: code.description
        default: nil
        }
    }

    /// The `skipCharacters` for a request: the `Last-Event-ID` header if it holds a number (an `EventSource`
    /// reconnecting), else the `resumeAt` query parameter (the seed's convention), else `nil`.
    public static func skipCharacters(lastEventID: String?, resumeAt: String?) -> Int? {
        for value in [lastEventID, resumeAt] {
            if let value, let number = Int(value.trimmingCharacters(in: .whitespaces)), number >= 0 { return number }
        }
        return nil
    }

    /// Creates the iterator. Its events come from a task that reads the stream one chunk per event asked for
    /// (so a slow client holds the stream back, as it would reading it directly), with a heartbeat beside it;
    /// both end when the iterator is dropped.
    public func makeAsyncIterator() -> AsyncIterator {
        let (events, output) = AsyncThrowingStream<String, any Error>.makeStream()
        let (demands, demand) = AsyncStream<Void>.makeStream()
        let lastEvent = Locked(ContinuousClock.now)
        let pump = Task { [stream, startOffset, heartbeat, endEvent, stoppedEvent, failureEvent] in
            let beat = heartbeat.map { interval in
                Task {
                    while (try? await Task.sleep(until: lastEvent.withLock { $0 } + interval)) != nil {
                        let now = ContinuousClock.now
                        let due = lastEvent.withLock { last in
                            guard now - last >= interval else { return false }
                            last = now
                            return true
                        }
                        if due { output.yield(": ping\n\n") }
                    }
                }
            }
            defer { beat?.cancel() }
            var chunks = stream.makeAsyncIterator()
            var offset = startOffset
            for await _ in demands {
                do {
                    guard let chunk = try await chunks.next() else {
                        if let event = stream.isStopped ? stoppedEvent ?? endEvent : endEvent {
                            output.yield("event: \(event)\ndata: \"\"\n\n")
                        }
                        return output.finish()
                    }
                    // The start offset may come from the client: saturate rather than trap on a hostile one.
                    let (sum, overflow) = offset.addingReportingOverflow(chunk.utf16.count)
                    offset = overflow ? .max : sum
                    lastEvent.withLock { $0 = .now }
                    output.yield("id: \(offset)\ndata: \(chunk.jsonQuoted)\n\n")
                } catch {
                    if let failureEvent, let failure = Self.finalFailure(error) {
                        output.yield("event: \(failureEvent)\ndata: \(failure.jsonQuoted)\n\n")
                    }
                    return output.finish(throwing: error)
                }
            }
        }
        output.onTermination = { _ in
            demand.finish()
            pump.cancel()
        }
        return AsyncIterator(events: events.makeAsyncIterator(), demand: demand, retryField: retry.map(Self.retryField))
    }

    private static func retryField(_ delay: Duration) -> String {
        let milliseconds = delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
        return "retry: \(Swift.max(0, milliseconds))\n\n"
    }

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var events: AsyncThrowingStream<String, any Error>.AsyncIterator
        let demand: AsyncStream<Void>.Continuation
        var retryField: String?
        /// Whether the pump was asked for a chunk that has not come yet (heartbeats may come before it).
        var isWaitingForChunk = false

        /// The next event, or `nil` at the end of the stream.
        public mutating func next() async throws -> String? {
            if let retryField {
                self.retryField = nil
                return retryField
            }
            if !isWaitingForChunk {
                demand.yield()
                isWaitingForChunk = true
            }
            guard let event = try await events.next() else { return nil }
            if !event.hasPrefix(":") { isWaitingForChunk = false }
            return event
        }
    }
}

extension ResumableTextStream {
    /// The stream as server-sent events for a client that asked for it from `offset` (the `skipCharacters` it
    /// resumed with); see ``ServerSentEvents/init(_:startingAt:retry:heartbeat:endEvent:stoppedEvent:failureEvent:)``.
    public func serverSentEvents(
        startingAt offset: Int = 0, retry: Duration? = .seconds(1), heartbeat: Duration? = .seconds(15),
        endEvent: String? = "end", stoppedEvent: String? = "stopped", failureEvent: String? = "failed"
    ) -> ServerSentEvents {
        ServerSentEvents(
            self, startingAt: offset, retry: retry, heartbeat: heartbeat, endEvent: endEvent, stoppedEvent: stoppedEvent,
            failureEvent: failureEvent)
    }
}
