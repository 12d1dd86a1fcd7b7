import Foundation
import RedisBridge

/// A follower's relay: reads its listener channel into the follower's output, watched by the context's
/// watchdog (``FollowerWatchdog``) for a producer that went silent. With a Swift producer (frames, see
/// ``FrameSequencer``), text missed in a reconnect is asked for again on a fresh listener channel, from the
/// follower's own offset, and the reader sees no gap and no error.
///
/// The messages are relayed as the subscriber connection reads them (``CallbackSubscriber``), with no task of
/// the relay's own in between: a chunk costs one task wake-up, the reader's (a subscriber that cannot call back
/// is read by a task). Only a recovery and the look at the sentinel for a TypeScript producer's end run in
/// tasks.
final class Relay: Sendable {
    /// The relay's state, and the subscriptions and task it owns.
    private struct State {
        var machine: RelayStateMachine
        /// The listener channel's subscription, and its number (see ``Reading/subscription``); a recovery's
        /// replaces it.
        var subscription: (number: Int, CallbackSubscription)?
        /// The recovery under way, if any.
        var recovery: BackgroundTask<Void>?
        /// Set by ``cancel()``: no subscription is taken or recovery started after it.
        var isCancelled = false
        /// What the publish of the first request (``askForStream(from:within:)``) returned, once it did.
        var requestPublished: Result<Int, any Error>?
    }

    /// How the producer answered the first request.
    enum Answer {
        /// It acknowledged: the relay relays.
        case acknowledged
        /// Nobody listens for the stream's requests.
        case nobodyListening
        /// The request could not be published.
        case failed(any Error)
        /// No acknowledgement came in time, though a producer may have heard the request.
        case unanswered
    }

    /// The reading of the messages, one at a time (the subscriptions' callbacks take turns under its lock).
    private struct Reading {
        var sequencer: FrameSequencer
        /// The number of the subscription whose messages are read; an older one's are ignored.
        var subscription = 0
        /// The messages stopped being read: the relay ended, or a recovery moves to a fresh channel.
        var isStopped = false
        /// Since when frames come past the offset: the producer's re-send has the ack timeout to fill the gap.
        var gapSince: ContinuousClock.Instant?
        /// The offset of the last recovery, and how many in a row were made from it.
        var lastRecovery: (offset: Int, count: Int)?
        /// A message only this relay sends to its own channel (see ``confirmsNothingWasLost(within:)``), made
        /// when first needed: most relays never send one.
        var probe: String?
    }

    /// What a message leads to.
    private enum Step {
        /// Go on reading.
        case next
        /// The relay ended (its output finished or failed).
        case ended
        /// Text is missing from this offset on: ask for it on a fresh channel.
        case recover(from: Int)
        /// A TypeScript producer's end: the sentinel says how the stream ended.
        case endAsTheSentinelSays
    }

    /// The consumer side of the stream (the handshake): its keys, configuration, connections and watchdog.
    let consumer: Consumer
    /// The reader's text; unread text is bounded by ``ResumableStreamConfiguration/followerBacklogLimit``.
    private let output: TextQueue
    /// The wait of ``askForStream(from:within:)`` for the producer's acknowledgement.
    private let acknowledgement = AcknowledgementWait()
    private let state: Locked<State>
    private let reading: Locked<Reading>

    private init(listenerID: String, consumer: Consumer) {
        state = Locked(State(machine: RelayStateMachine(listenerID: listenerID, startedAt: consumer.clock.now())))
        reading = Locked(Reading(sequencer: FrameSequencer(identity: consumer.identity)))
        self.consumer = consumer
        output = TextQueue(byteLimit: consumer.configuration.followerBacklogLimit)
    }

    /// Subscribes to the channel of `listenerID` (returning once the subscription is active) and starts
    /// relaying it.
    static func start(consumer: Consumer, listenerID: String) async throws -> Relay {
        let relay = Relay(listenerID: listenerID, consumer: consumer)
        relay.install(try await relay.subscribe(to: listenerID, number: 0), number: 0)
        // A reader of the output that goes away ends the relay, which unsubscribes.
        relay.output.onTermination { [weak relay] in relay?.cancel() }
        return relay
    }

    /// What the reader reads: the relayed chunks, from where a Swift producer's acknowledgement said they start.
    /// Made once, for the reader: when it drops the stream, the relay ends.
    func makeReaderStream() -> ResumableTextStream {
        ResumableTextStream(chunks: output, startOffset: state.withLock(\.machine.startOffset))
    }

    /// Asks the producer for the stream from `skipCharacters` on this relay's channel, and waits up to `timeout`
    /// for its first message (the replay, possibly empty). The wait starts with the publish, not after its
    /// reply: the producer's answer is on its way while the reply is.
    func askForStream(from skipCharacters: Int?, within timeout: Duration) async -> Answer {
        let request = consumer.streamRequest(on: state.withLock(\.machine.listenerID), from: skipCharacters)
        consumer.publisher.enqueuePublish(request, to: consumer.keys.requests) { [weak self] receivers in
            self?.requestPublished(receivers)
        }
        if await acknowledgement.wait(within: timeout, on: consumer.clock, work: consumer.work) { return .acknowledged }
        switch state.withLock(\.requestPublished) {
        case .failure(let error)?: return .failed(error)
        case .success(let receivers)? where !consumer.mayHaveBeenHeard(byReceivers: receivers): return .nobodyListening
        default: return .unanswered
        }
    }

    /// The first request's publish returned: a wait for the acknowledgement ends at once if nobody can answer.
    private func requestPublished(_ receivers: Result<Int, any Error>) {
        state.withLock { $0.requestPublished = receivers }
        if case .success(let count) = receivers, consumer.mayHaveBeenHeard(byReceivers: count) { return }
        acknowledgement.settle(isAcknowledged: false)
    }

    /// Stops relaying and unsubscribes; a reader still reading gets ``ResumableStreamError/interrupted``.
    func cancel() {
        output.finish(throwing: ResumableStreamError.interrupted)
        let (subscription, recovery) = state.withLock { state in
            state.isCancelled = true
            defer { (state.subscription, state.recovery) = (nil, nil) }
            return (state.subscription, state.recovery)
        }
        subscription?.1.cancel()
        recovery?.cancel()
        consumer.watchdog.remove(self)
        acknowledgement.settle(isAcknowledged: false)
    }

    // MARK: reading

    /// Subscribes to the channel of `listenerID`, whose messages are read as subscription `number`'s. The
    /// subscription holds the relay until it ends.
    private func subscribe(to listenerID: String, number: Int) async throws -> CallbackSubscription {
        try await consumer.subscriber.subscribe(to: consumer.keys.chunks(for: listenerID), work: consumer.work) { messages in
            self.receive(messages, onSubscription: number)
        }
    }

    /// Makes `subscription` the relay's own, unless the relay was cancelled or a later one is there already
    /// (then it ends it); an earlier one ends.
    private func install(_ subscription: CallbackSubscription, number: Int) {
        let replaced = state.withLock { state -> CallbackSubscription? in
            guard !state.isCancelled, number >= state.subscription?.number ?? 0 else { return subscription }
            defer { state.subscription = (number, subscription) }
            return state.subscription?.1
        }
        replaced?.cancel()
    }

    /// What one hand-over of messages relayed, counted once for all of them.
    private struct Batch {
        var heardFromProducer = false
        var chunks = 0
        var bytes = 0
    }

    /// Reads the messages one read of the subscription brought (`nil`: it ended); the watchdog, the metrics and
    /// the flow control hear of them once for all.
    private func receive(_ messages: [ResumableStreamMessage]?, onSubscription number: Int) {
        var batch = Batch()
        let (step, nextOffset) = reading.withLock { reading -> (Step, Int?) in
            // A cancelled relay reads nothing more, though its subscription ends a moment later.
            guard number == reading.subscription, !reading.isStopped, !state.withLock(\.isCancelled) else { return (.next, nil) }
            var step = Step.next
            if let messages {
                for message in messages {
                    step = read(message, &reading, &batch)
                    guard case .next = step else { break }
                }
            } else {
                step = read(nil, &reading, &batch)
            }
            if case .recover(let offset) = step {
                let fruitless = reading.lastRecovery?.offset == offset ? (reading.lastRecovery?.count ?? 0) + 1 : 0
                reading.lastRecovery = (offset, fruitless)
                if fruitless >= Self.maximumFruitlessRecoveries {
                    end(throwing: ResumableStreamError.interrupted)
                    step = .ended
                }
            }
            if case .next = step {} else { reading.isStopped = true }
            return (step, reading.sequencer.nextOffset)
        }
        if batch.chunks > 0 {
            consumer.metrics.relayedChunks.increment(by: batch.chunks)
            consumer.metrics.relayedBytes.increment(by: batch.bytes)
            if case .next = step, let nextOffset { confirmIfDue(upTo: nextOffset) }
        }
        switch step {
        case .next, .ended: break
        case .recover(let offset): startRecovery(from: offset)
        case .endAsTheSentinelSays: consumer.work.start { [self] in end(with: await consumer.sentinel.ending()) }
        }
    }

    /// Recoveries in a row from one offset before the consumer gives up with `interrupted`.
    private static let maximumFruitlessRecoveries = 5

    /// Reads one message of the current subscription; `nil` says the subscription ended.
    private func read(_ message: ResumableStreamMessage?, _ reading: inout Reading, _ batch: inout Batch) -> Step {
        switch message {
        case nil:
            // The subscription ended without DONE: the subscriber connection closed, or this relay was cancelled
            // (then nobody reads the output any more).
            end(throwing: ResumableStreamError.interrupted)
            return .ended
        case .gap?:
            // Messages published while the subscriber reconnected are gone. A framed consumer asks again from its
            // offset; otherwise better an error than a hole (even if the sentinel says DONE: the last chunks may
            // have been lost with the DONE message).
            if let offset = reading.sequencer.nextOffset { return .recover(from: offset) }
            end(throwing: ResumableStreamError.interrupted)
            return .ended
        case .message(let text)? where text == reading.probe:
            state.withLock { $0.machine.probeReceived() }
            return .next
        case .message(let text)?:
            let wasUndecided = reading.sequencer.mode == .undecided
            let outcome = reading.sequencer.receive(text)
            if wasUndecided, reading.sequencer.mode == .framed, let start = reading.sequencer.startOffset {
                state.withLock { $0.machine.framesBegan(at: start) }
            }
            // After the sequencer, so that the handshake knows where the text starts; once a batch is enough for
            // the watchdog.
            if !batch.heardFromProducer {
                batch.heardFromProducer = true
                if state.withLock({ $0.machine.messageReceived(at: consumer.clock.now()) }) == .acknowledgeAndJoinWatchdog {
                    acknowledgement.settle(isAcknowledged: true)
                    consumer.watchdog.insert(self)
                }
            }
            switch outcome {
            case .end(let ending?):
                // A Swift producer's end frame says how its own generation ended: the meta key may be a newer
                // one's by now.
                end(with: ending)
                return .ended
            case .end(nil):
                return .endAsTheSentinelSays
            case .incomplete(let offset):
                return .recover(from: offset)
            case .otherGeneration:
                end(throwing: ResumableStreamError.streamReplaced)
                return .ended
            case .ahead(let offset):
                let since = reading.gapSince ?? consumer.clock.now()
                if consumer.clock.now() - since >= consumer.configuration.ackTimeout { return .recover(from: offset) }
                reading.gapSince = since
            case .ignore, .deliver(""):
                break
            case .deliver(let text):
                reading.gapSince = nil
                guard output.push(text) else {
                    // The end unsubscribes: the producer sees nobody on the channel and forgets this listener.
                    // The reader gets what it was handed, then the error.
                    consumer.metrics.slowFollowers.increment()
                    end(throwing: ResumableStreamError.followerTooSlow(output.byteLimit ?? 0))
                    return .ended
                }
                batch.chunks += 1
                batch.bytes += text.utf8.count
            }
            return .next
        }
    }

    // MARK: recovery

    /// Starts a recovery from `offset`, in place of one still under way (whose fresh channel already missed
    /// text).
    private func startRecovery(from offset: Int) {
        let recovery = consumer.work.start { [self] in await recover(from: offset) }
        let (isCancelled, previous) = state.withLock { state in
            defer { if !state.isCancelled { state.recovery = recovery } }
            return (state.isCancelled, state.recovery)
        }
        previous?.cancel()
        if isCancelled { recovery.cancel() }
    }

    /// Asks the producer again for the stream from `offset`, on a fresh listener channel (the old one may
    /// still carry stale text; ending its subscription makes the producer forget it), retrying until the ack
    /// timeout while Redis cannot be reached or nobody listens for requests (the producer's own subscription
    /// may be coming back from the same reconnect). Ends the relay with `interrupted` if that lasts the whole
    /// ack timeout; a cancelled recovery (the relay ended, or a later recovery took over) just stops.
    private func recover(from offset: Int) async {
        let deadline = consumer.clock.now() + consumer.configuration.ackTimeout
        while !Task.isCancelled {
            let listenerID = consumer.newListenerID()
            // The fresh channel's messages are read from now on; the old one's no more.
            let number = reading.withLock { reading in
                reading.subscription += 1
                (reading.isStopped, reading.gapSince) = (false, nil)
                return reading.subscription
            }
            if let subscription = try? await subscribe(to: listenerID, number: number) {
                guard !Task.isCancelled else { return subscription.cancel() }
                state.withLock { $0.machine.recovering(on: listenerID, from: offset) }
                if let receivers = try? await consumer.askForStream(on: listenerID, from: offset),
                    consumer.mayHaveBeenHeard(byReceivers: receivers), !Task.isCancelled
                {
                    state.withLock { $0.machine.recoveryRequested(at: consumer.clock.now()) }
                    consumer.metrics.recoveries.increment()
                    return install(subscription, number: number)
                }
                // Its end is not the relay's.
                reading.withLock { reading in
                    if reading.subscription == number { reading.subscription += 1 }
                }
                subscription.cancel()
            }
            guard consumer.clock.now() < deadline else { return end(throwing: ResumableStreamError.interrupted) }
            try? await consumer.clock.sleep(consumer.configuration.ackRetryInterval)
        }
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
            return end(throwing: ResumableStreamError.interrupted.causedBy(error))
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
    }

    /// The stream is done but its DONE message never came: was only that message lost, or chunks too (the
    /// subscription may be down, or just re-established with a gap not yet seen)? A probe through this relay's
    /// own channel answers it: messages arrive in order, so a probe that comes back without a gap before it
    /// means the subscription was intact since the last chunk.
    private func confirmsNothingWasLost(within patience: Duration) async -> Bool {
        let channel = consumer.keys.chunks(for: state.withLock(\.machine.listenerID))
        let probe = reading.withLock { reading in
            let probe = reading.probe ?? "\u{0}resumable-stream-probe:\(UUID().uuidString)"
            reading.probe = probe
            return probe
        }
        guard (try? await consumer.publisher.publishMessage(probe, to: channel)) != nil else { return false }
        let deadline = consumer.clock.now() + patience
        while consumer.clock.now() < deadline {
            if state.withLock(\.machine.isProbeReceived) { return true }
            try? await consumer.clock.sleep(.milliseconds(10))
        }
        return false
    }

    /// Ends the output with `ending`, and the relay (its subscription, its watch).
    private func end(with ending: StreamEnding) {
        output.finish(ending)
        cancel()
    }

    /// Ends the output with `error`, and the relay.
    private func end(throwing error: any Error) {
        output.finish(throwing: error)
        cancel()
    }
}
