/// What ``UIMessageStreamEncoder`` has written so far: whether it started, which part is open, the part ids it
/// gave out, whether it finished; each step returns the events to write.
struct UIMessageStreamEncoderState: Sendable {
    private enum Phase {
        case notStarted
        case streaming
        case finished
    }

    private enum PartKind {
        case text
        case reasoning
    }

    private let messageID: String?
    private var phase = Phase.notStarted
    /// The open text or reasoning part, with its id.
    private var openPart: (kind: PartKind, id: String)?
    /// How many parts were opened: the next part's id is `text-<n>` or `reasoning-<n>`.
    private var partCount = 0

    init(messageID: String?) {
        self.messageID = messageID
    }

    var isFinished: Bool { phase == .finished }

    /// The opening events (`start`, `start-step`), the first time only.
    mutating func open() -> String? {
        guard phase == .notStarted else { return nil }
        phase = .streaming
        return UIMessageChunk.start(messageID: messageID).event + UIMessageChunk.startStep.event
    }

    /// The events of one part, or `nil` for nothing to write (an empty delta).
    mutating func encode(_ part: UIMessageStreamPart) -> String? {
        precondition(phase == .streaming, "a part after the end of the stream")
        switch part {
        case .textDelta(let delta):
            guard !delta.isEmpty else { return nil }
            let (opening, id) = openPart(.text)
            return opening + UIMessageChunk.textDelta(id: id, delta: delta).event
        case .reasoningDelta(let delta):
            guard !delta.isEmpty else { return nil }
            let (opening, id) = openPart(.reasoning)
            return opening + UIMessageChunk.reasoningDelta(id: id, delta: delta).event
        case .messageMetadata(let metadata):
            return closePart() + UIMessageChunk.messageMetadata(metadata).event
        case .error(let text):
            return closePart() + UIMessageChunk.error(text).event
        }
    }

    /// The closing events of a source that ended: the open part's end, `finish-step`, `finish`, `[DONE]`.
    mutating func finish() -> String {
        let closing = closePart() + UIMessageChunk.finishStep.event + UIMessageChunk.finish.event + UIMessageChunk.doneEvent
        phase = .finished
        return closing
    }

    /// The closing events of a source that failed: an `error` chunk with `text`, then `[DONE]` (as the AI SDK's
    /// `createUIMessageStream` ends when its `execute` throws).
    mutating func fail(_ text: String) -> String {
        phase = .finished
        return UIMessageChunk.error(text).event + UIMessageChunk.doneEvent
    }

    /// Opens a part of `kind` unless one is open: the events that closed the other kind and opened it, and its id.
    private mutating func openPart(_ kind: PartKind) -> (events: String, id: String) {
        if let openPart, openPart.kind == kind { return ("", openPart.id) }
        let closing = closePart()
        partCount += 1
        switch kind {
        case .text:
            let id = "text-\(partCount)"
            openPart = (kind, id)
            return (closing + UIMessageChunk.textStart(id: id).event, id)
        case .reasoning:
            let id = "reasoning-\(partCount)"
            openPart = (kind, id)
            return (closing + UIMessageChunk.reasoningStart(id: id).event, id)
        }
    }

    /// The end of the open part, if any.
    private mutating func closePart() -> String {
        guard let open = openPart else { return "" }
        openPart = nil
        switch open.kind {
        case .text: return UIMessageChunk.textEnd(id: open.id).event
        case .reasoning: return UIMessageChunk.reasoningEnd(id: open.id).event
        }
    }
}
