import Logging
import RedisBridge

/// The producer of one stream: reads the source, buffers it, serves it to its own reader, answers resume
/// requests with the replay and then the live chunks, and finalises the sentinel when the source ends.
///
/// Appending a chunk with its fan-out, and registering a listener with its replay, happen under one lock,
/// and the publishes are issued there too, through its ``ListenerPublisher`` (at once, or in a burst through
/// an outbox the backend takes in order): so each listener gets its replay before any later chunk, with nothing
/// lost or doubled.
///
/// Each producer runs one life of its id, a ``StreamGeneration``, which its claim wrote to the generation key.
/// Several producers of one id (`createNewResumableStream` called again, or a new producer after the sentinel
/// of a stalled one expired) never both answer a request: a claim that found an earlier generation announces
/// the new one on the request channel, and its producer answers from its own announcement on, in channel
/// order; an older one stops answering at that announcement, once the generation key confirms it. Every write
/// a producer makes (its sentinel's refresh and end, its durable log) is fenced by its generation, its frames
/// carry it, and it obeys only stop requests aimed at it.
final class Producer: Sendable {
    /// The stream's state, the producer's task (set once it starts) and where that task is with the source.
    private struct State {
        var machine: ProducerStateMachine
        var task: BackgroundTask<Void>?
        var sourceReading = SourceReading.notStarted
        /// When announcements of other generations are checked against the generation key.
        var generationChecks = GenerationCheckBudget()
    }

    /// Where the producer's task is with its source: a stop cancels the task only while it reads, so that only
    /// the reading is cancelled.
    private enum SourceReading {
        case notStarted
        case reading
        /// A stop cancelled the reading (or will, once the task is there).
        case cancelled
        /// The source ended: the task writes the end.
        case done
    }

    let keys: StreamKeys
    /// The life of the id this producer runs.
    let generation: StreamGeneration
    /// How long it answers requests after the end (``ResumableStreamConfiguration/lingerAfterFinish``): all it
    /// keeps of the configuration, which a live stream would otherwise hold a copy of.
    private let lingerAfterFinish: Duration
    private let publisher: any ResumableStreamPublisher
    private let sentinel: StreamSentinel
    private let logger: Logger
    private let metrics: StreamMetrics
    /// The producer's own reader's text.
    private let output: TextQueue
    private let state: Locked<State>
    /// The header of this stream's text frames (``ChunkFrame``), made once.
    private let textFramePrefix: String
    private let identity: StreamIdentity
    /// Appends the text to the stream's durable log, if the configuration keeps one.
    private let logWriter: LogWriter?
    /// What the backend reported about earlier publishes, taken at the next append or re-sent at once.
    private let reports = DeliveryReports()
    /// Publishes to the listeners, in the order the producer enqueues under its lock.
    private let listeners: ListenerPublisher
    /// The context's background work, where the producer's tasks run.
    private let work: BackgroundWork
    /// The time its linger and its checks run on.
    private let clock: StreamClock

    /// `generation` is the one its claim wrote to the generation key, and `announced` whether the claim
    /// announced it on the request channel (an earlier generation's key was there).
    init(
        keys: StreamKeys,
        generation: StreamGeneration,
        announced: Bool,
        configuration: ResumableStreamConfiguration,
        publisher: any ResumableStreamPublisher,
        work: BackgroundWork,
        clock: StreamClock,
        logger: Logger,
        metrics: StreamMetrics,
        output: TextQueue
    ) {
        self.keys = keys
        self.work = work
        self.clock = clock
        self.generation = generation
        state = Locked(State(machine: ProducerStateMachine(isAnnounced: announced, bufferLimit: configuration.maxBufferedCharacters)))
        lingerAfterFinish = configuration.lingerAfterFinish
        self.publisher = publisher
        sentinel = StreamSentinel(keys: keys, publisher: publisher, configuration: configuration)
        identity = StreamIdentity(keys)
        textFramePrefix = ChunkFrame.textPrefix(identity, generation)
        listeners = ListenerPublisher(
            publisher: publisher, reports: reports, textFramePrefix: textFramePrefix, pieceSize: configuration.replayPieceSize, clock: clock,
            logger: logger)
        logWriter = configuration.durableLog.map { settings in
            LogWriter(
                keys: keys, generation: generation, configuration: configuration, settings: settings, publisher: publisher, work: work,
                clock: clock, logger: logger)
        }
        self.logger = logger
        self.metrics = metrics
        self.output = output
    }

    /// Starts the producer's task, which the context owns: it reads the source while `requests` are served (in
    /// a task of their own only while some wait), calls `onFinish` once the stream is finalised, goes on
    /// answering requests for ``ResumableStreamConfiguration/lingerAfterFinish`` (unless stopped), and calls
    /// `onEnd` when it stopped listening and the last request it was serving was answered.
    func start<Source: AsyncSequence & SendableMetatype>(
        source makeSource: @escaping @Sendable () async throws -> Source,
        requests: RequestInbox,
        onFinish: @escaping @Sendable () -> Void,
        onEnd: @escaping @Sendable () -> Void
    ) where Source.Element == String {
        logWriter?.start { [state] in
            state.withLock { ($0.machine.buffer, $0.machine.bufferedCharacters) }
        }
        // Re-sends are rare: a task is started for one only when it is due.
        reports.onResendDue { [weak self] in
            guard let self else { return }
            work.start { self.resendUndelivered() }
        }
        requests.serve { [self] message in await serve(message) }
        state.withLock { state in
            state.sourceReading = state.machine.isStopRequested ? .cancelled : .reading
        }
        // One task reads the source and then writes the end: a live stream costs one task, not two.
        let task = work.start { [self] in
            let ending = await pump(makeSource)
            let wasCancelled = state.withLock { state in
                defer { state.sourceReading = .done }
                return state.sourceReading == .cancelled
            }
            if wasCancelled {
                // The stop cancelled this task to end the reading: the end is written in full by one that is not.
                await work.start { await self.wrapUp(ending, requests: requests, onFinish: onFinish) }.value
            } else {
                await wrapUp(ending, requests: requests, onFinish: onFinish)
            }
            onEnd()
        }
        let cancelAtOnce = state.withLock { state in
            state.task = task
            return state.sourceReading == .cancelled
        }
        if cancelAtOnce { task.cancel() }
    }

    /// Stops the source (its reading is cancelled); readers end cleanly, the stream counts as done, and its end
    /// (sentinel, followers, durable log) is written as for any other ending. A producer that already finished
    /// stops lingering.
    func stop() {
        let task = state.withLock { state -> BackgroundTask<Void>? in
            state.machine.requestStop()
            switch state.sourceReading {
            case .notStarted, .cancelled: return nil
            case .reading:
                state.sourceReading = .cancelled
                return state.task
            case .done: return state.machine.isFinalised ? state.task : nil
            }
        }
        task?.cancel()
    }

    /// Waits until the producer finished and stopped listening for requests.
    func waitUntilFinished() async {
        await state.withLock(\.task)?.value
    }

    /// Writes the end of the stream as the source ended, lingers (unless stopped), and stops listening.
    private func wrapUp(_ ending: StreamEnding, requests: RequestInbox, onFinish: @Sendable () -> Void) async {
        await finish(ending)
        onFinish()
        // A stop that came before the end was finalised skips the linger; a later one cancels this task.
        if !isStopRequested { await linger() }
        // Ends the request subscription (UNSUBSCRIBE) and the serving, and the re-sends.
        await requests.closeAndWait()
        reports.onResendDue(nil)
    }

    private var isStopRequested: Bool { state.withLock(\.machine.isStopRequested) }

    /// Goes on answering after the end for ``ResumableStreamConfiguration/lingerAfterFinish``: a follower that
    /// missed the end in a reconnect asks again from its offset, and gets the rest and the end. Longer while
    /// framed followers that have not got everything yet confirm progress (their window lets them have the
    /// rest only as they confirm). A stop (or the context's shutdown) cuts it short.
    private func linger() async {
        var confirmations = state.withLock(\.machine.confirmations)
        while (try? await clock.sleep(lingerAfterFinish)) != nil {
            let (progressed, serving) = state.withLock { state in
                (state.machine.confirmations, state.machine.isServingFramedListeners)
            }
            guard serving, progressed != confirmations else { return }
            confirmations = progressed
        }
    }

    /// Returns once every framed follower was sent the whole stream and its end, or once none of them confirmed
    /// progress for ``ResumableStreamConfiguration/lingerAfterFinish`` (a follower that left). The shutdown
    /// waits for it: a follower's window may still hold text back that only this producer has.
    func waitUntilFollowersServed() async {
        var (confirmations, since) = (state.withLock(\.machine.confirmations), clock.now())
        while !Task.isCancelled {
            let (progressed, serving) = state.withLock { state in
                (state.machine.confirmations, state.machine.isServingFramedListeners)
            }
            guard serving else { return }
            if progressed != confirmations {
                (confirmations, since) = (progressed, clock.now())
            } else if clock.now() - since >= lingerAfterFinish {
                return
            }
            try? await clock.sleep(.milliseconds(10))
        }
    }

    // MARK: source

    private func pump<Source: AsyncSequence & SendableMetatype>(
        _ makeSource: @Sendable () async throws -> Source
    ) async -> StreamEnding where Source.Element == String {
        do {
            for try await chunk in try await makeSource() {
                if Task.isCancelled { break }
                try deliver(chunk)
            }
            return isStopRequested || Task.isCancelled ? .stopped : .completed
        } catch {
            return ending(failedWith: error)
        }
    }

    /// How the stream ends when reading its source threw `error`: stopped, if a stop or a cancellation caused it,
    /// else failed (the reader gets the error). Not inlined into ``pump(_:)``, whose async frame every live stream
    /// holds.
    @inline(never)
    private func ending(failedWith error: any Error) -> StreamEnding {
        if isStopRequested || (Task.isCancelled && error is CancellationError) { return .stopped }
        output.finish(throwing: error)
        return .failed(error is ResumableStreamError ? "\(error)" : String(describing: error))
    }

    /// Appends a chunk of the source and hands it to the producer's own reader. Not inlined into ``pump(_:)``,
    /// whose async frame every live stream holds.
    @inline(never)
    private func deliver(_ chunk: String) throws {
        try append(chunk)
        output.push(chunk)
    }

    private func append(_ chunk: String) throws {
        let characters = chunk.utf16.count
        guard characters > 0 else { return }
        try state.withLock { state in
            let reported = reports.take()
            let fanout = try state.machine.append(
                chunk, characters: characters, forgetting: reported.gone, undelivered: reported.undelivered)
            for catchUp in fanout.catchUps { send(catchUp, framed: true) }
            if !fanout.audience.isEmpty {
                listeners.enqueue(.text(chunk, characters: characters, offset: fanout.offset, audience: fanout.audience))
            }
        }
        logWriter?.textAppended()
    }

    // MARK: requests

    /// Answers one message of the request channel: `false` once a newer producer of the id took over (the
    /// inbox then closes, which unsubscribes).
    private func serve(_ message: ResumableStreamMessage) async -> Bool {
        switch message {
        case .gap:
            debug("resume requests may have been lost in a Redis reconnect; consumers ask again")
            // So may confirmations of framed followers: none may wait for one that will never come.
            state.withLock { state in
                for catchUp in state.machine.confirmationsMayHaveBeenLost() { send(catchUp, framed: true) }
            }
            // Announcements may have been lost too: the generation key says who runs the id now, and an
            // announced producer that missed its own announcement makes another. Asked again a few times
            // if Redis gives no answer: a newer generation may have claimed the id unannounced meanwhile
            // (Redis had lost the keys), and Redis may lose its keys too before the next gap.
            var isReplaced = await checkGeneration()
            var delay = Self.generationCheckRetryDelay
            for _ in 0..<Self.generationCheckRetries where isReplaced == nil {
                guard (try? await clock.sleep(delay)) != nil else { break }
                delay *= 2
                isReplaced = await checkGeneration()
            }
            if isReplaced == true { return replaced() }
            if state.withLock(\.machine.isAwaitingOwnAnnouncement) {
                publisher.enqueuePublish(RequestMessage.encodeGeneration(generation), to: keys.requests, onReceivers: nil)
            }
            // And a stop request: it was stored for this generation before it was published.
            if (try? await sentinel.isStopStored(for: generation)) == true { obeyStopRequest() }
        case .message(let text):
            switch RequestMessage.parse(text) {
            case nil:
                ignoreMalformedRequest(text)
            case .stop(let target) where target == nil || target == generation:
                obeyStopRequest()
            case .stop(let target):
                ignoreStopRequest(for: target)
            case .generation(let announced) where announced == generation:
                state.withLock { $0.machine.ownAnnouncementReceived() }
            case .generation(let announced):
                // Claims mint ever larger generations: an announcement of an older one is stale or forged,
                // and changes nothing.
                guard generation < announced else { return true }
                state.withLock { $0.machine.newerGenerationAnnounced() }
                // Forged or stale announcements change nothing: the generation key must agree. Checked at
                // most once an interval, so that a flood of forged ones costs little; a check put off is
                // made before the next request is answered.
                guard state.withLock({ $0.generationChecks.announcementArrived(at: clock.now()) }) else {
                    metrics.deferredGenerationChecks.increment()
                    return true
                }
                if await checkGeneration() == true { return replaced() }
            case .resume(let listenerID, let skipCharacters, let framing):
                if state.withLock({ $0.generationChecks.requestArrived(at: clock.now()) }), await checkGeneration() == true {
                    return replaced()
                }
                answer(listenerID: listenerID, skipCharacters: skipCharacters, framing: framing)
            case .received(let listenerID, let offset):
                confirmationReceived(from: listenerID, upTo: offset)
            }
        }
        return true
    }

    // The synchronous steps of `serve(_:)`, not inlined, so that its async frame stays small.

    @inline(never)
    private func ignoreMalformedRequest(_ text: String) {
        logger.debug("ignoring a malformed resume request", metadata: ["stream.id": "\(keys.id)", "request.bytes": "\(text.utf8.count)"])
    }

    @inline(never)
    private func ignoreStopRequest(for target: StreamGeneration?) {
        logger.debug(
            "ignoring a stop request for another life of this id",
            metadata: ["stream.id": "\(keys.id)", "stream.generation": "\(generation)", "stop.target": "\(target.map(\.hex) ?? "")"])
    }

    /// A framed follower confirmed what it received: what its window held back may go.
    @inline(never)
    private func confirmationReceived(from listenerID: String, upTo offset: Int) {
        let channel = keys.chunks(for: listenerID)
        state.withLock { state in
            if let delivery = state.machine.received(on: channel, upTo: offset) { send(delivery, framed: true) }
        }
    }

    /// How often a generation check after a gap that got no answer is made again, the first time after
    /// ``generationCheckRetryDelay`` and then twice as long each time (3.15 s in all): the serving of requests
    /// waits meanwhile, so it is bounded.
    private static let generationCheckRetries = 6
    private static let generationCheckRetryDelay = Duration.milliseconds(50)

    /// A newer generation of the id claimed it in this process, and `announced` it. Known here even if this
    /// producer misses the announcement in a reconnect and Redis then loses the keys. A claim that announced
    /// nothing found no key of this producer's (Redis had lost them): no announcement orders the requests of
    /// the two, and every request from now on is the newer one's.
    func newerGenerationClaimed(_ newer: StreamGeneration, announced: Bool) {
        guard generation < newer else { return }
        state.withLock { $0.machine.newerGenerationClaimedInThisProcess(announced: announced) }
    }

    /// Whether another generation runs the id now: the generation key names a newer one. A key that names
    /// nobody means Redis lost the keys (a restart) or let them expire (this producer stalled); one that names an
    /// older generation means Redis lost them and that older producer wrote its own again first. Either way this
    /// producer writes its keys again (see ``StreamClaim/Mode/reclaiming``), so that the next claim announces
    /// itself to it: the claim, and for a finished stream its end after it; unless another producer claimed
    /// the id first, or a newer generation is known (announced and not checked since, or claimed in this
    /// process). `nil` if it cannot tell yet: Redis gave no answer (unreachable, or a write refused), or the
    /// producer's end is being written; the claim may have been written again then, its end not yet.
    private func checkGeneration() async -> Bool? {
        let holder: String?
        do {
            holder = try await publisher.value(of: keys.generation)
        } catch {
            return nil
        }
        if holder == generation.hex {
            let (isEndUnwritten, ending, text) = state.withLock { state in
                state.machine.generationKeyNamesThisProducer()
                return (state.machine.isEndUnwritten, state.machine.ending, state.machine.buffer)
            }
            guard isEndUnwritten, let ending else { return false }
            return await writeEnd(as: ending, text: text).map { !$0 }
        }
        if let holder, StreamGeneration(hex: holder).map({ generation < $0 }) ?? true { return true }
        let (mayWriteItsKeys, isFinished, ending, text) = state.withLock {
            ($0.machine.mayWriteItsKeys, $0.machine.isFinished, $0.machine.ending, $0.machine.buffer)
        }
        if !mayWriteItsKeys { return true }
        let restored: Bool?
        switch (isFinished, ending) {
        case (false, _): restored = try? await sentinel.reclaim(for: generation)
        case (true, let ending?):
            switch try? await sentinel.reclaim(for: generation) {
            case true?: restored = await writeEnd(as: ending, text: text)
            case false?: restored = false
            case nil: restored = nil
            }
        case (true, nil): restored = nil  // its end is being written
        }
        guard let restored else { return nil }
        if restored { debug("wrote the stream's keys again after Redis lost them") }
        return !restored
    }

    /// Writes the stream's end (the sentinel's DONE, with the retained text and the ending): whether this
    /// producer still held the id, `nil` if Redis gave no answer (the next check of the generation key writes it).
    private func writeEnd(as ending: StreamEnding, text: String) async -> Bool? {
        do {
            let written = try await sentinel.finalise(as: ending, for: generation, text: text)
            state.withLock { $0.machine.endWritten(true) }
            return written
        } catch {
            endNotWritten(error)
            return nil
        }
    }

    /// Writing the end failed (Redis gave no answer): the next check of the generation key writes it.
    @inline(never)
    private func endNotWritten(_ error: any Error) {
        state.withLock { $0.machine.endWritten(false) }
        logger.debug("could not write the stream's end", metadata: ["stream.id": "\(keys.id)", "error": "\(error)"])
    }

    /// When an announcement of another generation is checked against the generation key.
    private struct GenerationCheckBudget {
        /// The least time between two checks.
        static let interval = Duration.milliseconds(10)
        private var lastCheck: ContinuousClock.Instant?
        private var isCheckOwed = false

        /// Whether to check an announcement now; if not, the check is owed to the next request.
        mutating func announcementArrived(at now: ContinuousClock.Instant) -> Bool {
            if let lastCheck, now - lastCheck < Self.interval {
                isCheckOwed = true
                return false
            }
            lastCheck = now
            return true
        }

        /// Whether a request must wait for a check that was put off.
        mutating func requestArrived(at now: ContinuousClock.Instant) -> Bool {
            guard isCheckOwed else { return false }
            isCheckOwed = false
            lastCheck = now
            return true
        }
    }

    /// Stops answering requests: a newer producer answers them. `false`, for ``serve(_:)``.
    @discardableResult
    private func replaced() -> Bool {
        state.withLock { $0.machine.replaced() }
        debug("a newer producer of this id answers its requests from now on")
        return false
    }

    private func answer(listenerID: String, skipCharacters: Int, framing: FrameRequest?) {
        let channel = keys.chunks(for: listenerID)
        let answered = state.withLock { state in
            guard let reply = state.machine.resumeRequested(on: channel, skipCharacters: skipCharacters, framing: framing)
            else { return false }
            send(reply, framed: framing != nil)
            return true
        }
        logger.debug(
            answered ? "serving a follower" : "leaving a request to another producer of this id",
            metadata: [
                "stream.id": "\(keys.id)", "stream.skip": "\(skipCharacters)",
            ])
    }

    /// Publishes a delivery to its listener, framed or plain, and then the end if it ends the stream. A reply to
    /// a request is the acknowledgement, so it goes out even when its text is empty.
    private func send(_ delivery: ProducerStateMachine.Delivery, framed: Bool) {
        let characters = delivery.text.utf16.count
        let end = delivery.offset + characters
        if !delivery.text.isEmpty {
            let audience = framed ? ProducerStateMachine.Audience(framed: [delivery.channel]) : .init(plain: [delivery.channel])
            listeners.enqueue(.text(delivery.text, characters: characters, offset: delivery.offset, audience: audience))
        } else if !(framed && delivery.endsStream) {
            let acknowledgement = framed ? ChunkFrame.encodeText("", at: delivery.offset, prefix: textFramePrefix) : ""
            listeners.enqueue(.message(acknowledgement, channels: [delivery.channel], resendsFrom: nil))
        }
        guard let ending = delivery.ending else { return }
        guard framed else { return listeners.enqueue(.message(WireProtocol.doneMessage, channels: [delivery.channel], resendsFrom: nil)) }
        // The end frame's failure is reported like any other: the end reaches the follower while the producer
        // lingers and Redis is there.
        let endFrame = ChunkFrame.encodeEnd(length: end, identity: identity, generation: generation, ending: ending)
        listeners.enqueue(.message(endFrame, channels: [delivery.channel], resendsFrom: end))
    }

    /// Stops for a stop request aimed at this generation. Its stored copy needs no clean-up: it names this
    /// generation only, and the next claim of the id deletes it.
    private func obeyStopRequest() {
        logger.debug("a stop request stops the stream", metadata: ["stream.id": "\(keys.id)", "stream.generation": "\(generation)"])
        stop()
    }

    /// Re-sends what failed publishes may have lost, under the state lock, so in order with the chunks (and
    /// with the end, which follows the text).
    private func resendUndelivered() {
        state.withLock { state in
            for delivery in state.machine.redeliver(reports.takeUndelivered()) { send(delivery, framed: true) }
        }
    }

    // MARK: lifetime

    /// Extends the running sentinel and the generation key by the running TTL; the context calls it every
    /// third of that TTL. In one step in Redis, so that it can neither shorten a finished stream's expiry (a
    /// refresh racing the DONE) nor extend a successor's.
    func refreshExpiry() async {
        guard state.withLock(\.machine.shouldRefreshExpiry) else { return }
        // A refresh fenced off by a newer generation ends the answering of requests, in case its announcement
        // never came (this producer stalled until its keys expired, so the claim found no earlier generation).
        if (try? await sentinel.refresh(for: generation)) == false, await checkGeneration() == true { replaced() }
        await logWriter?.refreshExpiry()
    }

    /// How long the end of the stream waits for its durable log to be complete.
    private static let logCompletionPatience = Duration.seconds(10)

    /// Its synchronous steps are functions of their own, not inlined: a producer's task holds this function's
    /// async frame while the end is written, and many streams may end at once.
    private func finish(_ ending: StreamEnding) async {
        endOutput(as: ending)
        // The whole text and the end mark (with the ending) go to the log before the sentinel says DONE, so that
        // a reader that sees DONE finds the log complete. Bounded: Redis may be gone.
        if let logWriter, !(await logWriter.finish(as: ending, within: Self.logCompletionPatience)) {
            debug("the durable log could not be completed")
        }
        // A producer that a newer generation replaced writes no end: the newer one's keys may be gone by now
        // (expired after its instance died, or lost in a restart), and this end would bring the older life back.
        if !state.withLock(\.machine.mayWriteItsKeys) {
            debug("a newer producer claimed this id: no end is written")
        } else if await writeEnd(as: ending, text: state.withLock(\.machine.buffer)) == false {
            // Written before the end messages, on the same connection: a consumer that got DONE reads DONE here.
            debug("a newer producer runs this id: its sentinel stays")
        }
        sendEndMessages(as: ending)
    }

    /// The source's end: the producer's own reader gets it (a failed source finished the output with its error
    /// already), and so do the metrics.
    @inline(never)
    private func endOutput(as ending: StreamEnding) {
        state.withLock { $0.machine.finish() }
        if case .failed = ending {} else { output.finish(ending) }
        metrics.record(ending)
    }

    /// The end messages to the listeners, once the end is written.
    @inline(never)
    private func sendEndMessages(as ending: StreamEnding) {
        state.withLock { state in
            let (plain, framed) = state.machine.finalised(as: ending)
            if !plain.isEmpty { listeners.enqueue(.message(WireProtocol.doneMessage, channels: plain, resendsFrom: nil)) }
            for delivery in framed { send(delivery, framed: true) }
        }
        logger.debug("stream finished", metadata: ["stream.id": "\(keys.id)", "stream.ending": "\(ending)"])
    }

    /// Logs `message` at debug level with the stream's id. Not inlined, so that the async functions that log
    /// keep small frames.
    @inline(never)
    private func debug(_ message: Logger.Message) {
        logger.debug(message, metadata: ["stream.id": "\(keys.id)"])
    }
}
