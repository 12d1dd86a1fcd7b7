import Foundation

/// The consumer side of the protocol: asks the producer for the stream on a fresh listener channel,
/// retrying on a new listener id until the ack timeout, then relays the chunks until the DONE message, with
/// a watchdog for a DONE that never comes.
struct Follower: Sendable {
    let keys: StreamKeys
    let configuration: ResumableStreamConfiguration
    let publisher: any ResumableStreamPublisher
    let subscriber: any ResumableStreamSubscriber
    let metrics: StreamMetrics
    /// The context's watchdog, which every relay joins once acknowledged.
    let watchdog: PeriodicSweep<Relay>

    /// Runs the handshake. Returns ``ResumableStreamResult/resumed(_:)`` once the producer acknowledged.
    func follow(skipCharacters: Int?) async throws -> ResumableStreamResult {
        let started = ContinuousClock.now
        let deadline = started + configuration.ackTimeout
        var wait = configuration.ackRetryInterval
        while true {
            // A fresh listener id per attempt (see `newListenerID()`).
            let listenerID = Self.newListenerID()
            let relay = try await Relay.start(follower: self, listenerID: listenerID)
            let receivers: Int
            do {
                receivers = try await askForStream(on: listenerID, from: skipCharacters)
            } catch {
                relay.cancel()  // releases the listener channel's subscription
                throw error
            }
            let remaining = deadline - ContinuousClock.now
            if receivers > 0, await relay.waitForAck(within: min(wait, max(remaining, .zero))) {
                metrics.resumed.increment()
                metrics.resumeLatency.record(duration: ContinuousClock.now - started)
                return .resumed(relay.stream.starting(at: relay.startOffset))
            }
            relay.cancel()
            if ContinuousClock.now >= deadline || receivers == 0 {
                // Nobody listens on the request channel: the producer finished, crashed, or (a TypeScript
                // producer) has not subscribed yet, which the retry covers until the deadline.
                switch try await sentinel.state() {
                case .done: return try await finishedStream(from: skipCharacters)
                case .absent: return .notFound
                case .running: if ContinuousClock.now >= deadline { return .producerUnreachable }
                }
                try await Task.sleep(for: min(wait, max(deadline - ContinuousClock.now, .zero)))
            }
            wait = wait * 2
        }
    }

    /// A finished stream: the rest of its retained text for a caller that says where it is (`skipCharacters`,
    /// JavaScript `slice` rules), then its ending; ``ResumableStreamResult/alreadyDone`` for a caller that does
    /// not, or when nothing was retained.
    func finishedStream(from skipCharacters: Int?) async throws -> ResumableStreamResult {
        guard let skipCharacters, let text = try await sentinel.retainedText() else { return .alreadyDone }
        let ending = await sentinel.ending()
        let count = text.utf16.count
        let (chunks, output) = AsyncThrowingStream<String, any Error>.makeStream()
        let rest = text.jsSlice(from: skipCharacters, utf16Count: count)
        if !rest.isEmpty { output.yield(rest) }
        output.finish(throwing: ending.readerError)
        metrics.resumed.increment()
        return .finished(ResumableTextStream(chunks: chunks, startOffset: String.jsSliceOffset(skipCharacters, count: count)))
    }

    /// A fresh listener id: a TypeScript producer registers every request it gets, so a repeated id would
    /// receive every chunk twice.
    static func newListenerID() -> String {
        UUID().uuidString.lowercased()
    }

    /// Publishes the resume request for `listenerID` (from `skipCharacters`, asking for frames within the
    /// configured window); returns how many producers listen for requests.
    func askForStream(on listenerID: String, from skipCharacters: Int?) async throws -> Int {
        let framing = Framing(window: configuration.followerWindow)
        let request = RequestMessage.encodeResume(listenerID: listenerID, skipCharacters: skipCharacters, framing: framing)
        return try await publisher.publish(request, to: keys.requests)
    }

    /// The stream's identity, which a Swift producer's frames carry.
    var identity: StreamIdentity { StreamIdentity(keys) }

    /// The stream's sentinel, which says whether it runs and how it ended.
    var sentinel: Sentinel {
        Sentinel(keys: keys, publisher: publisher, configuration: configuration)
    }

    /// Whether the producer still listens for requests (it unsubscribes only when finished). A check that
    /// cannot reach Redis fails too, so that a follower whose Redis is gone ends within two checks instead of
    /// waiting for a Redis that may never come back.
    func producerIsListening() async -> Bool {
        ((try? await publisher.subscriberCount(of: keys.requests)) ?? 0) > 0
    }
}
