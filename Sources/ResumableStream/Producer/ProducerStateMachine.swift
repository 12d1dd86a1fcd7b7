/// What a ``Producer`` knows about its stream, and the rules for it, as a value: the buffer for replays, the
/// listeners that get the live chunks, whose resume requests it answers, and whether it finished or was asked
/// to stop. Each transition returns what the producer must publish; the producer runs them under its lock and
/// issues the publishes there, so a listener gets its replay before any later chunk.
struct ProducerStateMachine {
    /// Whose resume requests the producer answers.
    enum Role: Equatable {
        /// A producer started by `createNewResumableStream`, waiting for its own announcement on the request
        /// channel: requests before it are for an older producer of the id.
        case awaitingOwnAnnouncement
        /// It answers every request: a producer that created the id, or an announced one from its announcement on.
        case answering
        /// A newer producer of the id answers from now on; this one never does again.
        case replaced
    }

    /// The answer to a resume request.
    enum ResumeAction: Equatable {
        /// Another producer of the id answers it: publish nothing.
        case leaveToAnotherProducer
        /// Publish the replay (even when empty: it is the acknowledgement); the listener gets the live chunks.
        case replayThenLive(String)
        /// Publish the replay, then the DONE message: the stream finished.
        case replayThenDone(String)
    }

    private(set) var role: Role
    /// Whether the source ended and the listeners were handed to ``finish()``.
    private(set) var isFinished = false
    /// Whether ``requestStop()`` was called: the source ends as stopped.
    private(set) var isStopRequested = false
    /// Everything the source produced, for replays.
    private(set) var buffer = ""
    /// `buffer`'s length in UTF-16 code units, the unit of `skipCharacters` and of the buffer limit.
    private(set) var bufferedCharacters = 0
    /// Chunk channels of the listeners, in the order they asked.
    private(set) var listeners: [String] = []
    /// The most UTF-16 code units the buffer may hold (``ResumableStreamConfiguration/maxBufferedCharacters``).
    private let bufferLimit: Int?

    /// A producer that created the id answers at once; an announced one (`isAnnounced`) from its announcement on.
    init(isAnnounced: Bool, bufferLimit: Int?) {
        role = isAnnounced ? .awaitingOwnAnnouncement : .answering
        self.bufferLimit = bufferLimit
    }

    /// Whether the sentinel's expiry is still this producer's to extend: not once it finished or was replaced.
    var shouldRefreshExpiry: Bool {
        !isFinished && role != .replaced
    }

    /// Whether an announced producer still waits for its own announcement (which a reconnect may have lost).
    var isAwaitingOwnAnnouncement: Bool {
        role == .awaitingOwnAnnouncement
    }

    /// Buffers a chunk of `characters` UTF-16 code units (more than zero) and forgets the listeners in `gone`
    /// (their channel had no subscriber left). Returns the listeners to publish the chunk to, or throws
    /// ``ResumableStreamError/bufferLimitExceeded(_:)`` and buffers nothing.
    mutating func append(_ chunk: String, characters: Int, forgetting gone: Set<String>) throws(ResumableStreamError) -> [String] {
        let total = bufferedCharacters + characters
        if let bufferLimit, total > bufferLimit { throw .bufferLimitExceeded(bufferLimit) }
        buffer += chunk
        bufferedCharacters = total
        if !gone.isEmpty { listeners.removeAll { gone.contains($0) } }
        return listeners
    }

    /// A resume request on `channel` for the stream from `skipCharacters` on (JavaScript `slice` semantics).
    /// A listener of a running stream is registered for the live chunks.
    mutating func resumeRequested(on channel: String, skipCharacters: Int) -> ResumeAction {
        guard role == .answering else { return .leaveToAnotherProducer }
        let replay = buffer.jsSlice(from: skipCharacters, utf16Count: bufferedCharacters)
        if isFinished { return .replayThenDone(replay) }
        listeners.append(channel)
        return .replayThenLive(replay)
    }

    /// The producer's own announcement arrived: requests after it are this producer's.
    mutating func ownAnnouncementReceived() {
        if role == .awaitingOwnAnnouncement { role = .answering }
    }

    /// The generation key names a newer producer: it answers every request from now on.
    mutating func replaced() {
        role = .replaced
    }

    /// Stop was asked for: the caller cancels the producer's task (now, or when it starts).
    mutating func requestStop() {
        isStopRequested = true
    }

    /// The source ended: returns the listeners to send the DONE message to. Requests answered from now on get
    /// the replay and then DONE.
    mutating func finish() -> [String] {
        isFinished = true
        defer { listeners = [] }
        return listeners
    }
}
