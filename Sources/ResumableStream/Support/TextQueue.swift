import RedisBridge

/// Text handed from one writer (a producer's source, a follower's relay) to the one reader of a
/// ``ResumableTextStream``. The reader takes everything that accumulated since its last read as one chunk: a
/// reader that keeps up gets each piece as it was written, one that fell behind catches up in one step instead
/// of a task wake per piece. A waiting reader is woken by the first piece and takes what came by the time it
/// runs, so that pieces written in a burst cost it one wake-up. Readers concatenate chunks (neither the wire
/// protocol nor the stream gives their boundaries a meaning), so merging changes no byte and no order.
final class TextQueue: Sendable {
    private struct State {
        /// What the reader has not taken yet.
        var pending = ""
        var pendingBytes = 0
        /// The reader, while it waits for text (or the end).
        var reader: CheckedContinuation<Void, Never>?
        /// How the writer ended, once it did: `nil` error for a clean end.
        var ending: (any Error)??
        /// Whether the clean end was a stop.
        var isStopped = false
        /// The reader got the ending, or went away: nothing more is taken or handed over.
        var isClosed = false
        /// Called once, when the writer ends or the reader goes away.
        var onTermination: (@Sendable () -> Void)?

        /// What the reader gets next, if anything is there.
        mutating func take() -> Step {
            if !pending.isEmpty {
                defer { (pending, pendingBytes) = ("", 0) }
                return .text(pending)
            }
            if isClosed { return .end(nil) }
            guard let ending else { return .wait }
            isClosed = true
            return .end(ending)
        }
    }

    private enum Step {
        case text(String)
        case end((any Error)?)
        case wait

        /// What the reader's `next` returns or throws for this step (`nil` for `wait`, which never gets here).
        func value() throws -> String? {
            switch self {
            case .text(let text): return text
            case .end(let error?): throw error
            case .end(nil), .wait: return nil
            }
        }
    }

    /// At most this many bytes wait unread before ``push(_:)`` refuses more; `nil` for no limit.
    let byteLimit: Int?
    private let state = Locked(State())

    init(byteLimit: Int? = nil) {
        self.byteLimit = byteLimit
    }

    /// Calls `handler` once, when the writer ends or the reader goes away (at once if that already happened).
    func onTermination(_ handler: @escaping @Sendable () -> Void) {
        let ended = state.withLock { state in
            guard state.ending == nil, !state.isClosed else { return true }
            state.onTermination = handler
            return false
        }
        if ended { handler() }
    }

    /// Hands `text` to the reader. `false`, with nothing handed over, if the reader left more than
    /// ``byteLimit`` bytes unread with it. Text written after the end, or once the reader left, is dropped.
    @discardableResult
    func push(_ text: String) -> Bool {
        guard !text.isEmpty else { return true }
        let (accepted, reader) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard state.ending == nil, !state.isClosed else { return (true, nil) }
            let bytes = state.pendingBytes + text.utf8.count
            // A waiting reader has taken everything: the limit is for a reader that fell behind.
            if state.reader == nil, let byteLimit, bytes > byteLimit { return (false, nil) }
            if state.pending.isEmpty { state.pending = text } else { state.pending += text }
            state.pendingBytes = bytes
            defer { state.reader = nil }
            return (true, state.reader)
        }
        reader?.resume()
        return accepted
    }

    /// Ends the text as the stream ended: a failed stream's reader gets its error, a stopped one's a clean end
    /// that ``isStopped`` tells apart.
    func finish(_ ending: StreamEnding) {
        finish(throwing: ending.readerError, isStopped: ending == .stopped)
    }

    /// Whether the text ended because the stream was stopped.
    var isStopped: Bool { state.withLock(\.isStopped) }

    /// Whether the reader waits for the next piece now (its `next()` suspended).
    var isReaderWaiting: Bool { state.withLock { $0.reader != nil } }

    /// Ends the text: the reader gets what is pending, then the end (`error` thrown, or a clean end).
    func finish(throwing error: (any Error)? = nil, isStopped: Bool = false) {
        let (reader, handler) = state.withLock { state -> (CheckedContinuation<Void, Never>?, (@Sendable () -> Void)?) in
            guard state.ending == nil, !state.isClosed else { return (nil, nil) }
            state.ending = .some(error)
            state.isStopped = isStopped
            defer { (state.reader, state.onTermination) = (nil, nil) }
            return (state.reader, state.onTermination)
        }
        reader?.resume()
        handler?()
    }

    /// The next text, everything that accumulated since the last call, waiting for it if none did; `nil` at a
    /// clean end or once the reader's task is cancelled (which ends the reading, not the writer).
    func next(isolation actor: isolated (any Actor)? = #isolation) async throws -> String? {
        while true {
            let ready = state.withLock { $0.take() }
            if case .wait = ready {} else { return try ready.value() }
            await withTaskCancellationHandler {
                await withCheckedContinuation(isolation: actor) { (reader: CheckedContinuation<Void, Never>) in
                    let isReady = state.withLock { state in
                        guard state.pending.isEmpty, state.ending == nil, !state.isClosed else { return true }
                        state.reader = reader
                        return false
                    }
                    if isReady { reader.resume() }
                }
            } onCancel: {
                readerLeft()
            }
        }
    }

    /// The reader's task was cancelled, or the reader went away: a waiting read ends, and so does everything
    /// after it.
    func readerLeft() {
        let (reader, handler) = state.withLock { state -> (CheckedContinuation<Void, Never>?, (@Sendable () -> Void)?) in
            guard !state.isClosed else { return (nil, nil) }
            state.isClosed = true
            (state.pending, state.pendingBytes) = ("", 0)
            defer { (state.reader, state.onTermination) = (nil, nil) }
            return (state.reader, state.onTermination)
        }
        reader?.resume()
        handler?()
    }
}
