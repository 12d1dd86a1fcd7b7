import Foundation

/// One listener channel's relay: a task that reads the channel into the follower's output, watched by the
/// context's watchdog (``watch(_:)``) for a producer that went silent.
final class Relay: Sendable {
    private struct State {
        var acknowledged = false
        var lastMessage = ContinuousClock.now
        var reader: Task<Void, Never>?
        /// Watchdog rounds in a row that found the relay silent and nobody listening for requests.
        var strikes = 0
        var isConcluding = false
        var probeReceived = false
    }

    let stream: ResumableTextStream
    private let follower: Follower
    /// The listener channel this relay reads.
    private let channel: String
    /// A message only this relay sends to its own channel (see ``confirmsNothingWasLost(within:)``).
    private let probe = "\u{0}resumable-stream-probe:\(UUID().uuidString)"
    private let output: AsyncThrowingStream<String, any Error>.Continuation
    private let ack: AsyncStream<Void>.Continuation
    private let acks: AsyncStream<Void>
    private let state = Locked(State())
    /// What the reader has not taken yet, against ``ResumableStreamConfiguration/followerBacklogLimit``.
    private let backlog: FollowerBacklog?

    private init(channel: String, follower: Follower) {
        self.channel = channel
        self.follower = follower
        let backlogLimit = follower.configuration.followerBacklogLimit
        let (chunks, output) = AsyncThrowingStream<String, any Error>.makeStream()
        backlog = backlogLimit.map(FollowerBacklog.init(limit:))
        stream = ResumableTextStream(chunks: chunks, backlog: backlog)
        self.output = output
        (acks, ack) = AsyncStream<Void>.makeStream()
    }

    /// Subscribes to `channel` (returning once the subscription is active) and starts relaying it.
    static func start(follower: Follower, channel: String) async throws -> Relay {
        let relay = Relay(channel: channel, follower: follower)
        let subscription = try await follower.subscriber.textSubscription(to: channel)
        let reader = Task { await relay.relay(subscription) }
        relay.state.withLock { $0.reader = reader }
        // The reader dropping its subscription is what unsubscribes; a reader of the output that goes away
        // ends the relay's task and its watch.
        relay.output.onTermination = { [weak relay] _ in relay?.cancel() }
        return relay
    }

    /// Waits for the producer's first message (the replay, possibly empty).
    func waitForAck(within timeout: Duration) async -> Bool {
        let acks = self.acks
        return await withDeadline(timeout) {
            for await _ in acks { return true }
            return false
        } ?? false
    }

    /// Stops relaying and unsubscribes.
    func cancel() {
        state.withLock(\.reader)?.cancel()
        follower.watchdog.remove(self)
        ack.finish()
    }

    private func relay(_ subscription: any AsyncSequence<ResumableStreamMessage, Never> & Sendable) async {
        for await message in subscription {
            switch message {
            case .gap:
                // Chunks published while the subscriber reconnected are gone: better an error than a hole. (Even
                // if the sentinel says DONE: the last chunks may have been lost with the DONE message.)
                return end(throwing: ResumableStreamError.interrupted)
            case .message(let text) where text == probe:
                state.withLock { $0.probeReceived = true }
            case .message(let text):
                let first = state.withLock { state in
                    state.lastMessage = .now
                    defer { state.acknowledged = true }
                    return !state.acknowledged
                }
                if first {
                    ack.yield()
                    ack.finish()
                    follower.watchdog.insert(self)
                }
                if text == WireProtocol.doneMessage {
                    return await end(with: follower.sentinel.ending())
                }
                if !text.isEmpty {
                    if let backlog, !backlog.admit(text.utf8.count) {
                        // Returning drops the subscription: the producer sees nobody on the channel and
                        // forgets this listener. The reader gets what it was handed, then the error.
                        follower.metrics.slowFollowers.increment()
                        return end(throwing: ResumableStreamError.followerTooSlow(backlog.limit))
                    }
                    follower.metrics.relayedChunks.increment()
                    follower.metrics.relayedBytes.increment(by: text.utf8.count)
                    output.yield(text)
                }
            }
        }
        // The subscription ended without DONE: the subscriber connection closed, or this relay was cancelled
        // (then nobody reads the output any more).
        end(throwing: ResumableStreamError.interrupted)
    }

    /// One watchdog round over a context's relays. A relay that received nothing for a watchdog interval has
    /// its producer checked (does anyone still listen on the stream's request channel? asked once per stream,
    /// for all streams at once); two failed checks in a row end it, with the stream's real ending if only the
    /// DONE message was lost.
    static func watch(_ relays: [Relay]) async {
        let silent = relays.filter { $0.isSilent() }
        guard !silent.isEmpty else { return }
        var followers: [String: Follower] = [:]
        for relay in silent { followers[relay.follower.keys.requests] = relay.follower }
        let listening = await withTaskGroup(of: (String, Bool).self) { group in
            for (requests, follower) in followers {
                group.addTask { (requests, await follower.producerIsListening()) }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        for relay in silent where relay.countsStrike(producerListens: listening[relay.follower.keys.requests] ?? true) {
            // Its own task: the probe may take up to an interval, and the next round must not wait for it.
            Task { await relay.concludeSilence() }
        }
    }

    /// Whether nothing arrived for a watchdog interval; a relay that heard something starts counting again.
    private func isSilent() -> Bool {
        let interval = follower.configuration.watchdogInterval
        return state.withLock { state in
            let silent = ContinuousClock.now - state.lastMessage >= interval
            if !silent { state.strikes = 0 }
            return silent
        }
    }

    /// Records a check of the producer; true exactly once, at the second failed check in a row.
    private func countsStrike(producerListens: Bool) -> Bool {
        state.withLock { state in
            state.strikes = producerListens ? 0 : state.strikes + 1
            guard state.strikes >= 2, !state.isConcluding else { return false }
            state.isConcluding = true
            return true
        }
    }

    /// The producer stopped listening without a DONE reaching this relay: ends it with the stream's ending if the
    /// sentinel says DONE and nothing was lost, else with an error.
    private func concludeSilence() async {
        let isDone = (try? await follower.sentinel.state()) == .done
        if isDone, await confirmsNothingWasLost(within: follower.configuration.watchdogInterval) {
            end(with: await follower.sentinel.ending())
        } else if isDone {
            end(throwing: ResumableStreamError.interrupted)
        } else {
            end(throwing: ResumableStreamError.producerUnreachable)
        }
        state.withLock(\.reader)?.cancel()
    }

    /// The stream is done but its DONE message never came: was only that message lost, or chunks too (the
    /// subscription may be down, or just re-established with a gap not yet seen)? A probe through this relay's
    /// own channel answers it: messages arrive in order, so a probe that comes back without a gap before it
    /// means the subscription was intact since the last chunk.
    private func confirmsNothingWasLost(within patience: Duration) async -> Bool {
        guard (try? await follower.publisher.publish(probe, to: channel)) != nil else { return false }
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            if state.withLock(\.probeReceived) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    private func end(with ending: StreamEnding) {
        if case .failed(let message) = ending {
            end(throwing: ResumableStreamError.producerFailed(message))
        } else {
            output.finish()
            follower.watchdog.remove(self)
        }
    }

    private func end(throwing error: any Error) {
        output.finish(throwing: error)
        follower.watchdog.remove(self)
    }
}
