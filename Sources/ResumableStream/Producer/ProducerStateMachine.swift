/// What a ``Producer`` knows about its stream, and the rules for it, as a value: the buffer for replays, the
/// listeners that get the live chunks, whose resume requests it answers, and whether it finished or was asked
/// to stop. Each transition returns what the producer must publish; the producer runs them under its lock and
/// issues the publishes there, so a listener gets its replay before any later chunk.
///
/// A framed listener (a Swift follower) may ask for flow control: the producer sends it at most a window of
/// text beyond what it confirmed receiving, and the rest as its confirmations come, in pieces that merge what
/// accumulated meanwhile. So one fast stream with many followers cannot fill Redis's output buffer of the
/// subscriber connection its followers share with every other stream of their process.
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

    /// The chunk channels of the listeners that take a live chunk, in the order they asked: those that take
    /// plain text (TypeScript consumers, and anyone who did not ask for frames) and those that take
    /// ``ChunkFrame``s.
    struct Audience: Equatable {
        var plain: [String] = []
        var framed: [String] = []

        var isEmpty: Bool { plain.isEmpty && framed.isEmpty }
    }

    /// A follower that takes ``ChunkFrame``s, and how far it got.
    struct FramedListener: Equatable {
        let channel: String
        /// The most text (UTF-16 code units) it takes beyond what it confirmed; `nil` for no limit.
        let window: Int?
        /// Where the text published to it ends.
        var sent: Int
        /// Where the text it confirmed receiving ends.
        var confirmed: Int
        /// Whether its end frame went out.
        var isEndSent = false

        /// How far its window lets it be sent: up to `end` at most.
        func windowEnd(atMost end: Int) -> Int {
            window.map { min(end, confirmed + $0) } ?? end
        }
    }

    /// Text to publish to one listener from `offset` (UTF-16 code units into the stream) on; then the end (the
    /// DONE message, or an end frame that says how it ended) if `ending` is given.
    struct Delivery: Equatable {
        let channel: String
        let text: String
        let offset: Int
        var ending: StreamEnding?

        /// Whether the end follows the text.
        var endsStream: Bool { ending != nil }
    }

    /// What to publish for a chunk: first the catch-ups (text for framed listeners that are behind: a window
    /// reopened, or a publish failed), then the chunk at `offset` to `audience`.
    struct Fanout: Equatable {
        var catchUps: [Delivery]
        var audience: Audience
        var offset: Int
    }

    /// Where the stream is in its life.
    enum Phase: Equatable {
        /// The source is read: chunks are appended.
        case producing
        /// The source ended: nothing more is appended; the end is being written (log, sentinel), and listeners
        /// wait for it.
        case finishing
        /// The sentinel says how the stream ended, `ending`: listeners get the end (with the ending, for framed
        /// ones), and requests answered from now on end with it.
        case finalised(StreamEnding)
    }

    /// What the producer knows of newer lives of its id.
    enum Successor: Equatable {
        /// None.
        case none
        /// One was announced on the request channel, and the generation key has not confirmed or refuted it
        /// yet (an announcement may be stale or forged).
        case announced
        /// One was claimed in this process: certain, whatever Redis says later.
        case claimedInThisProcess
    }

    private(set) var role: Role
    private(set) var phase = Phase.producing
    /// What the producer knows of newer lives of its id: with one known, it never writes its keys again (its
    /// claim after Redis lost them, or its end), which could bring this older life back over the newer one.
    private(set) var successor = Successor.none
    /// Whether the stream's end is missing from Redis though the producer finished (Redis gave no answer to its
    /// writing, or lost it): the next check of the generation key writes it.
    private(set) var isEndUnwritten = false
    /// Whether ``requestStop()`` was called, in any phase: the source ends as stopped, and a finished producer
    /// stops lingering.
    private(set) var isStopRequested = false
    /// Everything the source produced, for replays.
    private(set) var buffer = ""
    /// `buffer`'s length in UTF-16 code units, the unit of `skipCharacters`, of frame offsets and of the buffer
    /// limit.
    private(set) var bufferedCharacters = 0
    /// Plain listeners, in the order they asked; they get every chunk, and the DONE message at the end.
    private(set) var plainListeners: [String] = []
    /// Framed listeners, in the order they asked.
    private(set) var framedListeners: [FramedListener] = []
    /// How many confirmations moved a framed listener on: a producer that lingers after the end goes on while
    /// its followers make progress.
    private(set) var confirmations = 0
    /// The most UTF-16 code units the buffer may hold (``ResumableStreamConfiguration/maxBufferedCharacters``).
    private let bufferLimit: Int?

    /// A producer that created the id answers at once; an announced one (`isAnnounced`) from its announcement on.
    init(isAnnounced: Bool, bufferLimit: Int?) {
        role = isAnnounced ? .awaitingOwnAnnouncement : .answering
        self.bufferLimit = bufferLimit
    }

    /// Whether the source ended: nothing more is appended.
    var isFinished: Bool { phase != .producing }

    /// Whether the sentinel says how the stream ended, so that listeners may get the end.
    var isFinalised: Bool { ending != nil }

    /// How the stream ended, once finalised.
    var ending: StreamEnding? {
        if case .finalised(let ending) = phase { return ending }
        return nil
    }

    /// Every registered listener's channel, plain and framed (a framed one may be waiting for its window).
    var listeners: Audience {
        Audience(plain: plainListeners, framed: framedListeners.map(\.channel))
    }

    /// Whether the sentinel's expiry is still this producer's to extend: not once it finished or was replaced.
    var shouldRefreshExpiry: Bool {
        !isFinished && role != .replaced
    }

    /// Whether an announced producer still waits for its own announcement (which a reconnect may have lost).
    var isAwaitingOwnAnnouncement: Bool {
        role == .awaitingOwnAnnouncement
    }

    /// Whether a framed listener has not been sent the whole stream and its end yet.
    var isServingFramedListeners: Bool {
        framedListeners.contains { !$0.isEndSent }
    }

    /// Buffers a chunk of `characters` UTF-16 code units (more than zero), forgets the listeners in `gone`
    /// (their channel had no subscriber left), takes back what failed publishes may have lost (`undelivered`:
    /// framed listeners and the offset of the first text that may be missing), and says what to publish.
    /// Throws ``ResumableStreamError/bufferLimitExceeded(_:)`` and buffers nothing if the chunk does not fit.
    mutating func append(
        _ chunk: String, characters: Int, forgetting gone: Set<String>, undelivered: [String: Int]
    ) throws(ResumableStreamError) -> Fanout {
        precondition(phase == .producing, "a chunk appended after the source ended")
        let total = bufferedCharacters + characters
        if let bufferLimit, total > bufferLimit { throw .bufferLimitExceeded(bufferLimit) }
        if !gone.isEmpty {
            plainListeners.removeAll { gone.contains($0) }
            framedListeners.removeAll { gone.contains($0.channel) }
        }
        takeBack(undelivered)
        let offset = bufferedCharacters
        buffer += chunk
        bufferedCharacters = total
        var fanout = Fanout(catchUps: [], audience: Audience(plain: plainListeners), offset: offset)
        for index in framedListeners.indices {
            // Live if the whole chunk fits in its window; else cut at the window.
            if framedListeners[index].sent == offset, framedListeners[index].windowEnd(atMost: total) == total {
                framedListeners[index].sent = total
                fanout.audience.framed.append(framedListeners[index].channel)
            } else if let catchUp = catchUp(index) {
                fanout.catchUps.append(catchUp)
            }
        }
        return fanout
    }

    /// A resume request on `channel` for the stream from `skipCharacters` on (JavaScript `slice` semantics),
    /// in frames if `framing` is given, with its window. Returns the first delivery, the acknowledgement
    /// (even when its text is empty), or `nil` if another producer of the id answers. The listener is
    /// registered for the live chunks and the end.
    mutating func resumeRequested(on channel: String, skipCharacters: Int, framing: FrameRequest?) -> Delivery? {
        guard role == .answering else { return nil }
        let count = bufferedCharacters
        let offset = String.jsSliceOffset(skipCharacters, count: count)
        guard let framing else {
            if !isFinalised { plainListeners.append(channel) }
            return Delivery(channel: channel, text: slice(from: offset, to: count), offset: offset, ending: ending)
        }
        framedListeners.append(FramedListener(channel: channel, window: framing.window, sent: offset, confirmed: offset))
        return catchUp(framedListeners.count - 1) ?? Delivery(channel: channel, text: "", offset: offset)
    }

    /// The framed listener on `channel` confirmed receiving the stream up to `offset`: what its window lets it
    /// have now.
    mutating func received(on channel: String, upTo offset: Int) -> Delivery? {
        guard let index = framedListeners.firstIndex(where: { $0.channel == channel }) else { return nil }
        let confirmed = min(max(framedListeners[index].confirmed, offset), framedListeners[index].sent)
        if confirmed > framedListeners[index].confirmed { confirmations += 1 }
        framedListeners[index].confirmed = confirmed
        return catchUp(index)
    }

    /// Confirmations may have been lost (the request subscription had a gap): every framed listener counts as
    /// having received what was sent, so that none waits for a confirmation that will never come. It costs at
    /// most a window more in flight, once per gap.
    mutating func confirmationsMayHaveBeenLost() -> [Delivery] {
        framedListeners.indices.compactMap { index in
            framedListeners[index].confirmed = framedListeners[index].sent
            return catchUp(index)
        }
    }

    /// Failed publishes may have lost text for the framed listeners in `undelivered` from the given offsets
    /// on: what to send them again.
    mutating func redeliver(_ undelivered: [String: Int]) -> [Delivery] {
        takeBack(undelivered)
        return framedListeners.indices.compactMap { undelivered[framedListeners[$0].channel] == nil ? nil : catchUp($0) }
    }

    /// The producer's own announcement arrived: requests after it are this producer's.
    mutating func ownAnnouncementReceived() {
        if role == .awaitingOwnAnnouncement { role = .answering }
    }

    /// The generation key names a newer producer: it answers every request from now on.
    mutating func replaced() {
        role = .replaced
    }

    /// A newer generation announced itself on the request channel; the generation key is checked next.
    mutating func newerGenerationAnnounced() {
        if successor == .none { successor = .announced }
    }

    /// A newer generation claimed the id in this process, and `announced` it. A claim that announced nothing
    /// found no key of this producer's (Redis had lost them): no announcement orders the requests of the two,
    /// so every request from now on is the newer one's.
    mutating func newerGenerationClaimedInThisProcess(announced: Bool) {
        successor = .claimedInThisProcess
        if !announced { role = .replaced }
    }

    /// The generation key names this producer: an announcement of another was stale or forged.
    mutating func generationKeyNamesThisProducer() {
        if successor == .announced { successor = .none }
    }

    /// Whether the producer may write its keys (its end; its claim again after Redis lost them): not once
    /// replaced, nor while a newer generation is known.
    var mayWriteItsKeys: Bool {
        role != .replaced && successor == .none
    }

    /// Whether writing the stream's end to Redis succeeded (`false`: Redis gave no answer; the next check of the
    /// generation key writes it).
    mutating func endWritten(_ isWritten: Bool) {
        isEndUnwritten = !isWritten
    }

    /// Stop was asked for: the caller cancels the producer's task (now, or when it starts).
    mutating func requestStop() {
        isStopRequested = true
    }

    /// The source ended: nothing more is appended. Listeners get the end once ``finalised(as:)``.
    mutating func finish() {
        precondition(phase == .producing, "the source ended twice")
        phase = .finishing
    }

    /// The sentinel says how the stream ended: returns the plain listeners to send the DONE message to, and
    /// the framed listeners' deliveries (their end, once they have all the text). Requests answered from now
    /// on end with the end.
    mutating func finalised(as ending: StreamEnding) -> (plain: [String], deliveries: [Delivery]) {
        precondition(phase == .finishing, "the end written before the source ended, or twice")
        phase = .finalised(ending)
        defer { plainListeners = [] }
        return (plainListeners, framedListeners.indices.compactMap { catchUp($0) })
    }

    /// Moves back where the framed listeners in `undelivered` were sent up to, to the offset a failed publish
    /// may have lost text from (not before what they confirmed).
    private mutating func takeBack(_ undelivered: [String: Int]) {
        guard !undelivered.isEmpty else { return }
        for index in framedListeners.indices {
            guard let offset = undelivered[framedListeners[index].channel], offset <= framedListeners[index].sent else { continue }
            framedListeners[index].sent = max(framedListeners[index].confirmed, offset)
            framedListeners[index].isEndSent = false
        }
    }

    /// What the framed listener at `index` may have now: the text it was not sent yet, up to its window, and
    /// the end if that completes a finalised stream. `nil` if nothing.
    private mutating func catchUp(_ index: Int) -> Delivery? {
        var listener = framedListeners[index]
        guard !listener.isEndSent else { return nil }
        let start = listener.sent
        let end = listener.windowEnd(atMost: bufferedCharacters)
        let text = end > start ? slice(from: start, to: end) : ""
        listener.sent = start + text.utf16.count
        listener.isEndSent = isFinalised && listener.sent == bufferedCharacters
        framedListeners[index] = listener
        guard !text.isEmpty || listener.isEndSent else { return nil }
        return Delivery(channel: listener.channel, text: text, offset: start, ending: listener.isEndSent ? ending : nil)
    }

    /// The buffer from `start` up to `end`, or just before it so as not to cut a surrogate pair. A start inside
    /// a surrogate pair (a request's `skipCharacters` can ask for one) gives U+FFFD for its low half, as
    /// JavaScript's `slice` does, so the text keeps its length in UTF-16 code units.
    private func slice(from start: Int, to end: Int) -> String {
        let utf16 = buffer.utf16
        let startIndex = utf16.index(utf16.startIndex, offsetBy: start)
        var endIndex = end < bufferedCharacters ? utf16.index(startIndex, offsetBy: end - start) : utf16.endIndex
        if endIndex.samePosition(in: buffer.unicodeScalars) == nil { endIndex = utf16.index(before: endIndex) }
        guard endIndex > startIndex else { return "" }
        guard let aligned = startIndex.samePosition(in: buffer.unicodeScalars) else {
            return "\u{FFFD}" + String(buffer[utf16.index(after: startIndex)..<endIndex])
        }
        return String(buffer[aligned..<endIndex])
    }
}
