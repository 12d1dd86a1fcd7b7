import Foundation

/// One listener channel's relay: a task that reads the channel into the follower's output, watched by the
/// context's watchdog (``FollowerWatchdog``) for a producer that went silent.
final class Relay: Sendable {
    /// The relay's state, and the task that reads the channel (set once it starts).
    private struct State {
        var machine = RelayStateMachine(startedAt: .now)
        var reader: Task<Void, Never>?
    }

    /// What the reader reads: the relayed chunks.
    let stream: ResumableTextStream
    /// The handshake's side of the stream: its keys, configuration, connections and watchdog.
    let follower: Follower
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
                state.withLock { $0.machine.probeReceived() }
            case .message(let text):
                if state.withLock({ $0.machine.messageReceived(at: .now) }) == .acknowledgeAndJoinWatchdog {
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

    /// Whether nothing arrived for a watchdog interval; a relay that heard something starts counting again.
    func isSilent() -> Bool {
        let interval = follower.configuration.watchdogInterval
        return state.withLock { $0.machine.checkSilence(at: .now, interval: interval) }
    }

    /// Records a watchdog check of the producer; true exactly once, at the second failed check in a row.
    func producerChecked(listening: Bool) -> Bool {
        state.withLock { $0.machine.producerChecked(listening: listening) } == .concludeSilence
    }

    /// The producer stopped listening (or Redis could not be asked) without a DONE reaching this relay: ends it
    /// with the stream's ending if the sentinel says DONE and nothing was lost, else with an error that says
    /// which: the producer is gone, or Redis is.
    func concludeSilence() async {
        let sentinel = follower.sentinel
        switch try? await sentinel.state() {
        case .done?:
            if await confirmsNothingWasLost(within: follower.configuration.watchdogInterval) {
                end(with: await sentinel.ending())
            } else {
                end(throwing: ResumableStreamError.interrupted)
            }
        case .running?, .absent?:
            end(throwing: ResumableStreamError.producerUnreachable)
        case nil:
            // Redis itself cannot be reached: whatever the producer does, this follower may have missed chunks.
            end(throwing: ResumableStreamError.interrupted)
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
            if state.withLock(\.machine.isProbeReceived) { return true }
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
