import ResumableStream

/// The body of a UI message stream response: what ``AIChatStreams/startAnswer(chatID:messageID:makeTextDeltas:)``
/// and ``AIChatStreams/resumeAnswer(chatID:)`` give a route to write, event by event, after the
/// ``UIMessageStreamHeaders``.
///
/// It only ever yields whole server-sent events, and always ends with `data: [DONE]`: an answer that was stopped
/// ends with an `abort` chunk, and one whose reading failed (its producer died, Redis dropped the connection)
/// with an `error` chunk that says so, so that `useChat` sees a proper end instead of a cut connection. It never
/// throws. While the answer is silent, a comment line (`: keep-alive`) goes out every keep-alive interval, so
/// that proxies and load balancers keep the response open; the AI SDK's parser skips it.
///
/// Its events come from a task that reads the answer one event per event asked for (a slow client holds the
/// reading back, not the answer: the producer runs on regardless); the task ends when the iterator is dropped,
/// for example when the client disconnects, and that never stops the answer.
public struct UIMessageStreamBody: AsyncSequence, Sendable {
    /// One or more whole server-sent events, or a keep-alive comment.
    public typealias Element = String
    /// It never throws.
    public typealias Failure = Never

    /// The resumable stream's id (`<chatID>:<random>`): one per answer, never reused.
    public let streamID: String
    private let stream: ResumableTextStream
    private let keepAlive: Duration?

    init(_ stream: ResumableTextStream, streamID: String, keepAlive: Duration?) {
        self.stream = stream
        self.streamID = streamID
        self.keepAlive = keepAlive.map { Swift.max($0, .milliseconds(1)) }
    }

    /// The comment sent while the answer is silent (the AI SDK's own keep-alive comment).
    static let keepAliveComment = ": keep-alive\n\n"

    /// Reads the whole body into one string (for tests and tools; a route writes it event by event).
    public func collect() async -> String {
        var text = ""
        for await events in self { text += events }
        return text
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        let (events, output) = AsyncStream<String>.makeStream()
        let (demands, demand) = AsyncStream<Void>.makeStream()
        let pump = Task { [stream, keepAlive] in
            let beat = keepAlive.map { interval in
                Task {
                    while (try? await Task.sleep(for: interval)) != nil { output.yield(Self.keepAliveComment) }
                }
            }
            defer { beat?.cancel() }
            var framing = UIMessageEventFraming()
            var chunks = stream.makeAsyncIterator()
            for await _ in demands {
                while true {
                    do {
                        guard let chunk = try await chunks.next() else {
                            if let ending = framing.end() { output.yield(ending) }
                            return output.finish()
                        }
                        if let complete = framing.append(chunk) {
                            output.yield(complete)
                            break
                        }
                    } catch {
                        if let ending = framing.end(failure: error) { output.yield(ending) }
                        return output.finish()
                    }
                }
            }
        }
        output.onTermination = { _ in
            demand.finish()
            pump.cancel()
        }
        return AsyncIterator(events: events.makeAsyncIterator(), demand: demand)
    }

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var events: AsyncStream<String>.AsyncIterator
        let demand: AsyncStream<Void>.Continuation
        /// Whether the pump was asked for events that have not come yet (keep-alives may come before them).
        var isWaitingForEvents = false

        /// The next events, or `nil` after `[DONE]`.
        public mutating func next() async -> String? {
            if !isWaitingForEvents {
                demand.yield()
                isWaitingForEvents = true
            }
            guard let events = await events.next() else { return nil }
            if events != UIMessageStreamBody.keepAliveComment { isWaitingForEvents = false }
            return events
        }
    }
}
