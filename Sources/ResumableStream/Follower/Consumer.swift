import Foundation
import RedisBridge

/// The consumer side of the protocol: asks the producer for the stream on a fresh listener channel, retrying on
/// a new listener id until the ack timeout, and hands the channel to a ``Relay``, which relays it to the
/// follower, once the producer acknowledged; or serves a finished (or orphaned) stream from what Redis keeps of it.
struct Consumer: Sendable {
    /// What every consumer of a context shares, made once by the context: each relay keeps the consumer of its
    /// stream for its whole life, and a reference to this instead of copies of it (half a kilobyte) makes a
    /// followed stream that much smaller.
    final class Environment: Sendable {
        let configuration: ResumableStreamConfiguration
        let publisher: any ResumableStreamPublisher
        let subscriber: any ResumableStreamSubscriber
        let metrics: StreamMetrics
        /// The context's watchdog, which every relay joins once acknowledged.
        let watchdog: PeriodicSweep<Relay>
        /// The context's background work, where relays recover.
        let work: BackgroundWork
        /// The time the ack wait and the relays' recovery run on.
        let clock: StreamClock

        init(
            configuration: ResumableStreamConfiguration, publisher: any ResumableStreamPublisher, subscriber: any ResumableStreamSubscriber,
            metrics: StreamMetrics, watchdog: PeriodicSweep<Relay>, work: BackgroundWork, clock: StreamClock
        ) {
            self.configuration = configuration
            self.publisher = publisher
            self.subscriber = subscriber
            self.metrics = metrics
            self.watchdog = watchdog
            self.work = work
            self.clock = clock
        }
    }

    let keys: StreamKeys
    let environment: Environment

    var configuration: ResumableStreamConfiguration { environment.configuration }
    var publisher: any ResumableStreamPublisher { environment.publisher }
    var subscriber: any ResumableStreamSubscriber { environment.subscriber }
    var metrics: StreamMetrics { environment.metrics }
    var watchdog: PeriodicSweep<Relay> { environment.watchdog }
    var work: BackgroundWork { environment.work }
    var clock: StreamClock { environment.clock }

    /// Resumes the stream as the sentinel says it is: follows a running one, gives the rest of a finished one.
    /// The sentinel is read while the first listener channel's subscription is made, so that a running
    /// stream's resume waits for one round trip of the two, not for both; a stream that does not run
    /// unsubscribes again.
    func resume(skipCharacters: Int?) async throws -> ResumableStreamResult {
        async let firstRelay = startRelay()
        let sentinelState: StreamSentinel.State
        do {
            sentinelState = try await sentinel.state()
        } catch {
            try? await firstRelay.get().cancel()
            throw error
        }
        guard case .running = sentinelState else {
            try? await firstRelay.get().cancel()
            return sentinelState == .absent ? .notFound : try await finishedStream(from: skipCharacters)
        }
        return try await follow(skipCharacters: skipCharacters, firstRelay: await firstRelay.get())
    }

    /// A relay on a fresh listener channel (see `newListenerID()`), its subscription active, or why not.
    private func startRelay() async -> Result<Relay, any Error> {
        do {
            return .success(try await Relay.start(consumer: self, listenerID: newListenerID()))
        } catch {
            return .failure(error)
        }
    }

    /// Runs the handshake, on `firstRelay` first if one was started. Returns ``ResumableStreamResult/resumed(_:)``
    /// once the producer acknowledged.
    func follow(skipCharacters: Int?, firstRelay: Relay? = nil) async throws -> ResumableStreamResult {
        let started = clock.now()
        let deadline = started + configuration.ackTimeout
        var wait = configuration.ackRetryInterval
        var firstRelay = firstRelay
        while true {
            // A fresh listener channel per attempt.
            let relay: Relay
            if let first = firstRelay {
                (relay, firstRelay) = (first, nil)
            } else {
                relay = try await startRelay().get()
            }
            let remaining = deadline - clock.now()
            let maybeHeard: Bool
            switch await relay.askForStream(from: skipCharacters, within: min(wait, max(remaining, .zero))) {
            case .acknowledged:
                metrics.resumed.increment()
                metrics.resumeLatency.record(duration: clock.now() - started)
                return .resumed(relay.makeReaderStream())
            case .failed(let error):
                relay.cancel()  // releases the listener channel's subscription
                throw error
            case .nobodyListening: maybeHeard = false
            case .unanswered: maybeHeard = true
            }
            relay.cancel()
            if clock.now() >= deadline || !maybeHeard {
                // Nobody listens on the request channel: the producer finished, crashed, or (a TypeScript
                // producer) has not subscribed yet, which the retry covers until the deadline.
                switch try await sentinel.state() {
                case .done: return try await finishedStream(from: skipCharacters)
                case .absent: return .notFound
                case .running:
                    guard clock.now() >= deadline else { break }
                    // The producer is gone: what its durable log holds, if it kept one.
                    return try await storedStream(from: skipCharacters ?? 0, isFinished: false).map { .finished($0) } ?? .producerUnreachable
                }
                try await clock.sleep(min(wait, max(deadline - clock.now(), .zero)))
            }
            wait = wait * 2
        }
    }

    /// A finished stream: the rest of its retained text (or of its durable log) for a caller that says where
    /// it is (`skipCharacters`, JavaScript `slice` rules), then its ending; ``ResumableStreamResult/alreadyDone``
    /// for a caller that does not, or when Redis keeps neither.
    func finishedStream(from skipCharacters: Int?) async throws -> ResumableStreamResult {
        guard let skipCharacters, let stream = try await storedStream(from: skipCharacters, isFinished: true) else {
            return .alreadyDone
        }
        return .finished(stream)
    }

    /// The rest of a stream nobody produces any more, from what Redis keeps: a finished stream's retained
    /// text, else its durable log, then its ending (read with the text: the meta key may belong to a newer
    /// life of the id by the time a second read came); a log without its end mark ends with
    /// ``ResumableStreamError/producerUnreachable`` (the producer died: the text is all there is), or
    /// ``ResumableStreamError/interrupted`` for a finished stream. `nil` if Redis keeps neither.
    func storedStream(from skipCharacters: Int, isFinished: Bool) async throws -> ResumableTextStream? {
        if isFinished, let retained = try await sentinel.retainedStream() {
            let rest = retained.text.jsRest(from: skipCharacters)
            return ResumableTextStream(of: rest.text, startOffset: rest.offset, ending: retained.ending)
        }
        guard let logged = try await loggedText(from: skipCharacters) else { return nil }
        guard let ending = logged.ending else {
            let error: ResumableStreamError = isFinished ? .interrupted : .producerUnreachable
            return ResumableTextStream(of: logged.text, startOffset: logged.start, endingWith: error)
        }
        return ResumableTextStream(of: logged.text, startOffset: logged.start, ending: ending)
    }

    /// The stream's text in its durable log from `skipCharacters` (JavaScript `slice` rules), where it starts,
    /// and how the stream ended if the log holds its end mark; `nil` if there is no log, or it lost its start.
    private func loggedText(from skipCharacters: Int) async throws -> (text: String, start: Int, ending: StreamEnding?)? {
        // From the entry that holds the offset: one XRANGE.
        if skipCharacters > 0,
            let rest = Self.assemble(try await publisher.logEntries(at: keys.log, after: skipCharacters, limit: nil), from: skipCharacters)
        {
            return (rest.text, skipCharacters, rest.ending)
        }
        // A negative offset, or one past what the log holds, needs its length: the whole log.
        guard let whole = Self.assemble(try await publisher.logEntries(at: keys.log, after: 0, limit: nil), from: 0) else { return nil }
        let count = whole.text.utf16.count
        // A client with more than an incomplete log holds has nothing more to get, from where it is.
        if whole.ending == nil, skipCharacters > count { return ("", skipCharacters, nil) }
        let rest = whole.text.jsRest(from: skipCharacters, utf16Count: count)
        return (rest.text, rest.offset, whole.ending)
    }

    /// The text of log `entries` from `offset` on, and how the stream ended if the text reaches the end mark:
    /// entries that overlap (an append tried again after its reply was lost) give each character once; a hole
    /// ends the text. `nil` if the first entry starts past `offset`.
    private static func assemble(_ entries: [StreamLogEntry], from offset: Int) -> (text: String, ending: StreamEnding?)? {
        guard let first = entries.first, first.offset <= offset else { return nil }
        var text = ""
        var next = offset
        for entry in entries {
            if entry.isEnd { return (text, entry.offset == next ? entry.ending : nil) }
            guard entry.offset <= next else { break }
            let end = entry.offset + entry.text.utf16.count
            guard end > next else { continue }
            text += entry.offset == next ? entry.text : entry.text.jsSlice(from: next - entry.offset)
            next = end
        }
        return (text, nil)
    }

    /// A fresh listener id: a TypeScript producer registers every request it gets, so a repeated id would
    /// receive every chunk twice. With shard channels it starts with the stream's hash tag, so that its channel
    /// lives on the node of the stream's keys and request channel.
    func newListenerID() -> String {
        let id = UUID().uuidString.lowercased()
        guard publisher.usesShardChannels, let tag = HashSlot.hashTag(of: keys.requests) else { return id }
        return tag + id
    }

    /// Publishes the resume request for `listenerID` (from `skipCharacters`, asking for frames within the
    /// configured window); returns how many producers listen for requests.
    func askForStream(on listenerID: String, from skipCharacters: Int?) async throws -> Int {
        try await publisher.publishMessage(streamRequest(on: listenerID, from: skipCharacters), to: keys.requests)
    }

    /// Whether a request that reached `receivers` subscribers of the request channel may have reached the
    /// producer: on a cluster, a producer subscribed through another node is not counted.
    func mayHaveBeenHeard(byReceivers receivers: Int) -> Bool {
        receivers > 0 || !publisher.countsEveryReceiver
    }

    /// The resume request for `listenerID`, from `skipCharacters`, asking for frames within the configured
    /// window.
    func streamRequest(on listenerID: String, from skipCharacters: Int?) -> String {
        let framing = FrameRequest(window: configuration.followerWindow)
        return RequestMessage.encodeResume(listenerID: listenerID, skipCharacters: skipCharacters, framing: framing)
    }

    /// The stream's identity, which a Swift producer's frames carry.
    var identity: StreamIdentity { StreamIdentity(keys) }

    /// The stream's sentinel, which says whether it runs and how it ended.
    var sentinel: StreamSentinel {
        StreamSentinel(keys: keys, publisher: publisher, configuration: configuration)
    }

    /// Whether the producer still listens for requests (it unsubscribes only when finished). A check that
    /// cannot reach Redis fails too, so that a follower whose Redis is gone ends within two checks instead of
    /// waiting for a Redis that may never come back.
    func producerIsListening() async -> Bool {
        ((try? await publisher.subscriberCount(of: keys.requests)) ?? 0) > 0
    }
}
