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

    /// The chunk channels of the listeners, in the order they asked: those that take plain text (TypeScript
    /// consumers, and anyone who did not ask for frames) and those that take ``ChunkFrame``s.
    struct Audience: Equatable {
        var plain: [String] = []
        var framed: [String] = []

        var isEmpty: Bool { plain.isEmpty && framed.isEmpty }

        fileprivate mutating func removeAll(in gone: Set<String>) {
            plain.removeAll { gone.contains($0) }
            framed.removeAll { gone.contains($0) }
        }
    }

    /// Text to publish to one listener from `offset` (UTF-16 code units into the stream) on.
    struct Delivery: Equatable {
        let channel: String
        let text: String
        let offset: Int
    }

    /// The answer to a resume request.
    enum ResumeAction: Equatable {
        /// Another producer of the id answers it: publish nothing.
        case leaveToAnotherProducer
        /// Publish the replay (even when empty: it is the acknowledgement); the listener gets the live chunks.
        case replayThenLive(Delivery)
        /// Publish the replay, then the end: the stream finished at `length`.
        case replayThenDone(Delivery, length: Int)
    }

    /// What to publish for a chunk: first the re-sends (text a framed listener may have missed when a publish
    /// failed, from where it failed up to this chunk), then the chunk at `offset` to `audience`.
    struct Fanout: Equatable {
        var resends: [Delivery]
        var audience: Audience
        var offset: Int
    }

    private(set) var role: Role
    /// Whether the source ended and the listeners were handed to ``finish()``.
    private(set) var isFinished = false
    /// Whether ``requestStop()`` was called: the source ends as stopped.
    private(set) var isStopRequested = false
    /// Everything the source produced, for replays.
    private(set) var buffer = ""
    /// `buffer`'s length in UTF-16 code units, the unit of `skipCharacters`, of frame offsets and of the buffer
    /// limit.
    private(set) var bufferedCharacters = 0
    /// Who gets the live chunks.
    private(set) var listeners = Audience()
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

    /// Buffers a chunk of `characters` UTF-16 code units (more than zero), forgets the listeners in `gone`
    /// (their channel had no subscriber left), and says what to publish: `undelivered` maps framed listeners
    /// to the offset of the first text a failed publish may have lost. Throws
    /// ``ResumableStreamError/bufferLimitExceeded(_:)`` and buffers nothing if the chunk does not fit.
    mutating func append(
        _ chunk: String, characters: Int, forgetting gone: Set<String>, undelivered: [String: Int]
    ) throws(ResumableStreamError) -> Fanout {
        let total = bufferedCharacters + characters
        if let bufferLimit, total > bufferLimit { throw .bufferLimitExceeded(bufferLimit) }
        if !gone.isEmpty { listeners.removeAll(in: gone) }
        let resends = undelivered.isEmpty ? [] : resends(for: undelivered, among: listeners.framed)
        let offset = bufferedCharacters
        buffer += chunk
        bufferedCharacters = total
        return Fanout(resends: resends, audience: listeners, offset: offset)
    }

    /// A resume request on `channel` for the stream from `skipCharacters` on (JavaScript `slice` semantics).
    /// A listener of a running stream is registered for the live chunks, as a framed one if `wantsFrames`.
    mutating func resumeRequested(on channel: String, skipCharacters: Int, wantsFrames: Bool) -> ResumeAction {
        guard role == .answering else { return .leaveToAnotherProducer }
        let count = bufferedCharacters
        let offset = skipCharacters < 0 ? max(0, count + max(skipCharacters, -count)) : min(skipCharacters, count)
        let replay = Delivery(channel: channel, text: buffer.jsSlice(from: offset, utf16Count: count), offset: offset)
        if isFinished { return .replayThenDone(replay, length: count) }
        if wantsFrames {
            listeners.framed.append(channel)
        } else {
            listeners.plain.append(channel)
        }
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

    /// The source ended: returns the listeners to send the end to. Requests answered from now on get the
    /// replay and then the end.
    mutating func finish() -> Audience {
        isFinished = true
        defer { listeners = Audience() }
        return listeners
    }

    /// The text each of the `framed` listeners in `undelivered` may have missed (a publish to it failed), from
    /// the offset where it failed to the end of the buffer.
    func resends(for undelivered: [String: Int], among framed: [String]) -> [Delivery] {
        framed.compactMap { channel in
            guard let offset = undelivered[channel], offset < bufferedCharacters else { return nil }
            return Delivery(channel: channel, text: buffer.jsSlice(from: offset, utf16Count: bufferedCharacters), offset: offset)
        }
    }
}
