import Foundation
import RedisBridge

/// A follower's relay: a task that reads its listener channel into the follower's output, watched by the
/// context's watchdog (``FollowerWatchdog``) for a producer that went silent. With a Swift producer (frames,
/// see ``FrameSequencer``), text missed in a reconnect is asked for again on a fresh listener channel, from the
/// follower's own offset, and the reader sees no gap and no error.
final class Relay: Sendable {
    /// The relay's state, and the task that reads the channel (set once it starts).
    private struct State {
        var machine: RelayStateMachine
        var reader: BackgroundTask<Void>?
    }

    /// What the reader reads: the relayed chunks.
    let stream: ResumableTextStream
    /// The consumer side of the stream (the handshake): its keys, configuration, connections and watchdog.
    let consumer: Consumer
    /// A message only this relay sends to its own channel (see ``confirmsNothingWasLost(within:)``).
    private let probe = "\u{0}resumable-stream-probe:\(UUID().uuidString)"
    /// The reader's text; unread text is bounded by ``ResumableStreamConfiguration/followerBacklogLimit``.
    private let output: TextQueue
    private let ack: AsyncStream<Void>.Continuation
    private let acks: AsyncStream<Void>
    private let state: Locked<State>

    private init(listenerID: String, consumer: Consumer) {
        state = Locked(State(machine: RelayStateMachine(listenerID: listenerID, startedAt: consumer.clock.now())))
        self.consumer = consumer
        output = TextQueue(byteLimit: consumer.configuration.followerBacklogLimit)
        stream = ResumableTextStream(chunks: output, startOffset: nil)
        (acks, ack) = AsyncStream<Void>.makeStream()
    }

    /// Subscribes to the channel of `listenerID` (returning once the subscription is active) and starts
    /// relaying it.
    static func start(consumer: Consumer, listenerID: String) async throws -> Relay {
        let relay = Relay(listenerID: listenerID, consumer: consumer)
        let subscription = try await consumer.subscriber.textSubscription(to: consumer.keys.chunks(for: listenerID))
        let reader = consumer.work.start { await relay.relay(subscription) }
        relay.state.withLock { $0.reader = reader }
        // The reader dropping its subscription is what unsubscribes; a reader of the output that goes away
        // ends the relay's task and its watch.
        relay.output.onTermination { [weak relay] in relay?.cancel() }
        return relay
    }

    /// Where the relayed text starts in the stream, known once a Swift producer acknowledged with frames.
    var startOffset: Int? { state.withLock(\.machine.startOffset) }

    /// Waits for the producer's first message (the replay, possibly empty).
    func waitForAck(within timeout: Duration) async -> Bool {
        let acks = self.acks
        return await withDeadline(timeout, on: consumer.clock) {
            for await _ in acks { return true }
            return false
        } ?? false
    }

    /// Stops relaying and unsubscribes.
    func cancel() {
        state.withLock(\.reader)?.cancel()
        consumer.watchdog.remove(self)
        ack.finish()
    }

    private typealias Subscription = any AsyncSequence<ResumableStreamMessage, Never> & Sendable

    /// How a subscription's messages stopped coming.
    private enum Interruption {
        /// The relay ended (its output finished or failed).
        case ended
        /// Text is missing from this offset on.
        case missing(from: Int)
    }

    /// Relays subscription after subscription: a recovery from missing text moves to a fresh listener channel.
    /// Recoveries from the same offset end it after a few in a row (the producer cannot give that text).
    private func relay(_ first: Subscription) async {
        var sequencer = FrameSequencer(identity: consumer.identity)
        var subscription = first
        var lastRecovery: (offset: Int, count: Int)?
        while case .missing(let offset) = await relayMessages(of: subscription, with: &sequencer) {
            let fruitless = lastRecovery?.offset == offset ? (lastRecovery?.count ?? 0) + 1 : 0
            lastRecovery = (offset, fruitless)
            guard !Task.isCancelled, fruitless < Self.maximumFruitlessRecoveries, let next = await resubscribe(from: offset)
            else { return end(throwing: ResumableStreamError.interrupted) }
            subscription = next
        }
    }

    /// Recoveries in a row from one offset before the consumer gives up with `interrupted`.
    private static let maximumFruitlessRecoveries = 5

    private func relayMessages(of subscription: Subscription, with sequencer: inout FrameSequencer) async -> Interruption {
        // Since when frames come past the offset: the producer's re-send has the ack timeout to fill the gap.
        var gapSince: ContinuousClock.Instant?
        for await message in subscription {
            switch message {
            case .gap:
                // Messages published while the subscriber reconnected are gone. A framed consumer asks again
                // from its offset; otherwise better an error than a hole (even if the sentinel says DONE: the
                // last chunks may have been lost with the DONE message).
                if let offset = sequencer.nextOffset { return .missing(from: offset) }
                end(throwing: ResumableStreamError.interrupted)
                return .ended
            case .message(let text) where text == probe:
                state.withLock { $0.machine.probeReceived() }
            case .message(let text):
                let wasUndecided = sequencer.mode == .undecided
                let outcome = sequencer.receive(text)
                if wasUndecided, sequencer.mode == .framed, let start = sequencer.startOffset {
                    state.withLock { $0.machine.framesBegan(at: start) }
                }
                // After the sequencer, so that the handshake knows where the text starts.
                if state.withLock({ $0.machine.messageReceived(at: consumer.clock.now()) }) == .acknowledgeAndJoinWatchdog {
                    ack.yield()
                    ack.finish()
                    consumer.watchdog.insert(self)
                }
                switch outcome {
                case .end(let ending?):
                    // A Swift producer's end frame says how its own generation ended: the meta key may be a newer
                    // one's by now.
                    end(with: ending)
                    return .ended
                case .end(nil):
                    await end(with: consumer.sentinel.ending())
                    return .ended
                case .incomplete(let offset):
                    return .missing(from: offset)
                case .otherGeneration:
                    end(throwing: ResumableStreamError.streamReplaced)
                    return .ended
                case .ahead(let offset):
                    let since = gapSince ?? consumer.clock.now()
                    if consumer.clock.now() - since >= consumer.configuration.ackTimeout { return .missing(from: offset) }
                    gapSince = since
                case .ignore, .deliver(""):
                    break
                case .deliver(let text):
                    gapSince = nil
                    guard output.push(text) else {
                        // Returning drops the subscription: the producer sees nobody on the channel and
                        // forgets this listener. The reader gets what it was handed, then the error.
                        consumer.metrics.slowFollowers.increment()
                        end(throwing: ResumableStreamError.followerTooSlow(output.byteLimit ?? 0))
                        return .ended
                    }
                    consumer.metrics.relayedChunks.increment()
                    consumer.metrics.relayedBytes.increment(by: text.utf8.count)
                    if let offset = sequencer.nextOffset { confirmIfDue(upTo: offset) }
                }
            }
        }
        // The subscription ended without DONE: the subscriber connection closed, or this relay was cancelled
        // (then nobody reads the output any more).
        end(throwing: ResumableStreamError.interrupted)
        return .ended
    }

    /// Asks the producer again for the stream from `offset`, on a fresh listener channel (the old one may
    /// still carry stale text; dropping its subscription makes the producer forget it), retrying until the
    /// ack timeout while Redis cannot be reached or nobody listens for requests (the producer's own
    /// subscription may be coming back from the same reconnect). `nil` if that lasts the whole ack timeout.
    private func resubscribe(from offset: Int) async -> Subscription? {
        let deadline = consumer.clock.now() + consumer.configuration.ackTimeout
        repeat {
            let listenerID = consumer.newListenerID()
            if let subscription = try? await consumer.subscriber.textSubscription(to: consumer.keys.chunks(for: listenerID)) {
                state.withLock { $0.machine.recovering(on: listenerID, from: offset) }
                if let receivers = try? await consumer.askForStream(on: listenerID, from: offset),
                    receivers > 0 || !consumer.publisher.countsEveryReceiver
                {
                    state.withLock { $0.machine.recoveryRequested(at: consumer.clock.now()) }
                    consumer.metrics.recoveries.increment()
                    return subscription
                }
            }
            try? await consumer.clock.sleep(consumer.configuration.ackRetryInterval)
        } while consumer.clock.now() < deadline && !Task.isCancelled
        return nil
    }

    /// Confirms to a framed producer that the stream arrived up to `offset`, once that is half a window past
    /// the last confirmation.
    private func confirmIfDue(upTo offset: Int) {
        guard let window = consumer.configuration.followerWindow else { return }
        if let listenerID = state.withLock({ $0.machine.confirmationDue(upTo: offset, window: window) }) {
            sendConfirmation(upTo: offset, for: listenerID)
        }
    }

    /// Sends again the last confirmation, if its publish failed.
    private func resendLostConfirmation() {
        if let lost = state.withLock({ $0.machine.lostConfirmation() }) { sendConfirmation(upTo: lost.offset, for: lost.listenerID) }
    }

    private func sendConfirmation(upTo offset: Int, for listenerID: String) {
        let confirmation = RequestMessage.encodeReceived(listenerID: listenerID, offset: offset)
        consumer.publisher.enqueuePublish(confirmation, to: consumer.keys.requests) { [weak self] receivers in
            // Nobody receiving it is not a loss: the producer's request subscription is reconnecting, and the
            // gap it sees opens every window.
            if case .failure = receivers { self?.state.withLock { $0.machine.confirmationLost() } }
        }
    }

    /// Whether nothing arrived for a watchdog interval; a relay that heard something starts counting again. A
    /// confirmation whose publish failed is sent again here, so the producer does not hold back for good.
    func isSilent() -> Bool {
        let interval = consumer.configuration.watchdogInterval
        resendLostConfirmation()
        return state.withLock { $0.machine.checkSilence(at: consumer.clock.now(), interval: interval) }
    }

    /// Records a watchdog check of the producer; true exactly once, at the second failed check in a row.
    func producerChecked(listening: Bool) -> Bool {
        state.withLock { $0.machine.producerChecked(listening: listening) } == .concludeSilence
    }

    /// The producer stopped listening (or Redis could not be asked) without a DONE reaching this relay: ends it
    /// with the stream's ending if the sentinel says DONE and nothing was lost, else with an error that says
    /// which: the producer is gone, or Redis is.
    func concludeSilence() async {
        let sentinel = consumer.sentinel
        let sentinelState: StreamSentinel.State
        do {
            sentinelState = try await sentinel.state()
        } catch {
            // Redis itself cannot be reached: whatever the producer does, this consumer may have missed chunks.
            end(throwing: ResumableStreamError.interrupted.causedBy(error))
            state.withLock(\.reader)?.cancel()
            return
        }
        switch sentinelState {
        case .done where state.withLock(\.machine.startOffset) != nil:
            // Only the end frame says how long the stream is; without it, text may be missing even though the
            // subscription was intact (the producer's own publishes were lost).
            end(throwing: ResumableStreamError.interrupted)
        case .done:
            if await confirmsNothingWasLost(within: consumer.configuration.watchdogInterval) {
                end(with: await sentinel.ending())
            } else {
                end(throwing: ResumableStreamError.interrupted)
            }
        case .running, .absent:
            // Redis answers again: it may only have stalled (a long command, a failover) while the producer kept
            // listening, in which case this consumer goes on.
            if await consumer.producerIsListening() {
                return state.withLock { $0.machine.resumeWatching() }
            }
            end(throwing: ResumableStreamError.producerUnreachable)
        }
        state.withLock(\.reader)?.cancel()
    }

    /// The stream is done but its DONE message never came: was only that message lost, or chunks too (the
    /// subscription may be down, or just re-established with a gap not yet seen)? A probe through this relay's
    /// own channel answers it: messages arrive in order, so a probe that comes back without a gap before it
    /// means the subscription was intact since the last chunk.
    private func confirmsNothingWasLost(within patience: Duration) async -> Bool {
        let channel = consumer.keys.chunks(for: state.withLock(\.machine.listenerID))
        guard (try? await consumer.publisher.publishMessage(probe, to: channel)) != nil else { return false }
        let deadline = consumer.clock.now() + patience
        while consumer.clock.now() < deadline {
            if state.withLock(\.machine.isProbeReceived) { return true }
            try? await consumer.clock.sleep(.milliseconds(10))
        }
        return false
    }

    private func end(with ending: StreamEnding) {
        output.finish(ending)
        consumer.watchdog.remove(self)
    }

    private func end(throwing error: any Error) {
        output.finish(throwing: error)
        consumer.watchdog.remove(self)
    }
}
