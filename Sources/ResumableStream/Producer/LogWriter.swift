import Logging
import RedisBridge

/// Appends a producer's text to its durable log (``ResumableStreamConfiguration/DurableLog``), in a task of its
/// own: woken by the first chunk after it slept, it waits the linger (unless a batch filled up), then appends
/// everything that accumulated, one batch at a time, each awaited before the next, so the log never has a
/// hole. A failed append (Redis down) is tried again from the same offset with backoff; once the stream ended,
/// it appends the rest and the end mark, and stops. Every append is fenced by the producer's generation: once
/// a newer life of the id claimed it (and with it a fresh log), the writer stops.
///
/// The producer's only cost per chunk is ``textAppended()``: a lock, and a wake-up when the task sleeps.
final class LogWriter: Sendable {
    /// The producer's text so far, and its length in UTF-16 code units.
    typealias Snapshot = @Sendable () -> (text: String, count: Int)

    private struct State {
        /// Where the log's text ends.
        var logged = 0
        /// Whether a wake-up is on its way to the task.
        var isWakeUpPending = false
        /// How the stream ended, once it did: the end mark carries it.
        var ending: StreamEnding?
        /// Whether the task ended with the whole stream and its end mark in the log.
        var task: BackgroundTask<Bool>?
    }

    private let key: String
    /// The generation key, which fences every append, and the generation it must hold (or be absent).
    private let fence: String
    private let generation: StreamGeneration
    private let settings: ResumableStreamConfiguration.DurableLog
    /// The log's expiry while the producer runs, and once the stream ended.
    private let runningExpiry: Duration
    private let endedExpiry: Duration
    private let publisher: any ResumableStreamPublisher
    /// The context's background work, where the writer's task runs.
    private let work: BackgroundWork
    private let clock: StreamClock
    private let logger: Logger
    private let state = Locked(State())
    private let wakeUps: AsyncStream<Void>
    private let wakeUp: AsyncStream<Void>.Continuation

    init(
        keys: StreamKeys, generation: StreamGeneration, configuration: ResumableStreamConfiguration,
        settings: ResumableStreamConfiguration.DurableLog, publisher: any ResumableStreamPublisher, work: BackgroundWork, clock: StreamClock,
        logger: Logger
    ) {
        self.work = work
        self.clock = clock
        key = keys.log
        fence = keys.generation
        self.generation = generation
        self.settings = settings
        runningExpiry = configuration.runningTTL + settings.retention
        endedExpiry = min(settings.retention, configuration.doneTTL)
        self.publisher = publisher
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream<Void>.makeStream()
    }

    /// Starts the task that appends what `snapshot` says the producer has.
    func start(_ snapshot: @escaping Snapshot) {
        let task = work.start { await self.run(snapshot) }
        state.withLock { $0.task = task }
    }

    /// The producer buffered more text, or its source ended.
    func textAppended() {
        let wake = state.withLock { state in
            defer { state.isWakeUpPending = true }
            return !state.isWakeUpPending
        }
        if wake { wakeUp.yield() }
    }

    /// The stream ended as `ending`, with all its text buffered: waits until the log holds the whole stream and
    /// its end mark, for at most `patience` (Redis may be gone); then stops appending. Returns whether the log
    /// is complete.
    func finish(as ending: StreamEnding, within patience: Duration) async -> Bool {
        state.withLock { $0.ending = ending }
        textAppended()
        guard let task = state.withLock(\.task) else { return false }
        // The deadline cancels the wait, and the wait cancels the task, which then stops at once.
        return await withDeadline(patience, on: clock) {
            await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
        } ?? false
    }

    /// Extends the log's expiry while the producer runs, if the log exists (the sentinel's refresh calls it).
    func refreshExpiry() async {
        guard state.withLock(\.logged) > 0 else { return }
        try? await publisher.setExpiry(of: key, to: runningExpiry)
    }

    /// Appends until the stream and its end mark are in the log (true), or until cancelled or fenced off.
    private func run(_ snapshot: Snapshot) async -> Bool {
        for await _ in wakeUps {
            if state.withLock({ $0.ending == nil }), snapshot().count - state.withLock(\.logged) < settings.batchCharacters {
                try? await clock.sleep(settings.linger)
            }
            // Cleared before the snapshot: text appended after it wakes the task again. The ending is read
            // before the snapshot, so that a snapshot taken once it is known holds the whole text.
            let ending = state.withLock { state in
                state.isWakeUpPending = false
                return state.ending
            }
            let current = snapshot()
            guard await append(current.text, upTo: current.count) else { return false }
            if let ending {
                guard await append(.end(length: current.count, ending: ending), expiresIn: endedExpiry) else { return false }
                logger.trace("durable log complete", metadata: ["stream.log": "\(key)", "stream.length": "\(current.count)"])
                return true
            }
        }
        return false
    }

    /// Appends `text` from where the log ends up to `count`, in batches; false if cancelled or fenced off.
    private func append(_ text: String, upTo count: Int) async -> Bool {
        let logged = state.withLock(\.logged)
        guard count > logged else { return true }
        var offset = logged
        for piece in text.jsSlice(from: logged, utf16Count: count).chunkMessages(maximum: settings.batchCharacters) {
            guard await append(StreamLogEntry(offset: offset, text: piece), expiresIn: runningExpiry) else { return false }
            offset += piece.utf16.count
            state.withLock { $0.logged = offset }
        }
        return true
    }

    /// Appends one entry, trying again with backoff while it fails; false if cancelled first, or fenced off.
    private func append(_ entry: StreamLogEntry, expiresIn expiry: Duration) async -> Bool {
        var delay = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                guard try await publisher.appendToLog(entry, at: key, expiresIn: expiry, fencedBy: fence, generation: generation.hex) else {
                    logger.debug("a newer life of this id owns the durable log: stopped appending", metadata: ["stream.log": "\(key)"])
                    return false
                }
                return true
            } catch {
                logger.debug(
                    "could not append to the durable log; trying again",
                    metadata: [
                        "stream.log": "\(key)", "stream.offset": "\(entry.offset)", "error": "\(error)",
                    ])
                try? await clock.sleep(delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
        return false
    }
}
