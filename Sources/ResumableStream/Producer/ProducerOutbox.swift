/// What a ``Producer`` has still to publish to its listeners, in order, until its backend takes it to write
/// (``ResumableStreamPublisher/enqueuePublishes(taking:)``). Text for the same listeners that continues the
/// text before it joins that text: a connection backlogged behind other streams' publishes then carries one
/// message where it would have carried one per chunk, and holds the text once instead of a command per chunk.
/// When the connection keeps up, each chunk is taken before the next comes, and goes out alone as at once.
struct ProducerOutbox {
    /// One thing to publish.
    enum Entry: Equatable {
        /// The stream's text from `offset` on (`characters` UTF-16 code units) for `audience`: plain to the
        /// plain listeners, in frames to the framed ones.
        case text(String, characters: Int, offset: Int, audience: ProducerStateMachine.Audience)
        /// A message as it is (an acknowledgement, the DONE message, an end frame) for `channels`. A failed
        /// publish of it sends the text again from `resendsFrom`, if given (an end frame).
        case message(String, channels: [String], resendsFrom: Int?)
    }

    /// What waits, in order.
    private(set) var entries: [Entry] = []

    /// Adds `entry`; returns whether the caller must ask the backend to take the outbox (nothing waited, so
    /// no take was asked for yet).
    mutating func add(_ entry: Entry) -> Bool {
        guard !entries.isEmpty else {
            entries.append(entry)
            return true
        }
        guard case .text(let text, let characters, let offset, let audience) = entry,
            case .text(var joined, let joinedCharacters, let joinedOffset, let joinedAudience) = entries.last,
            joinedAudience == audience, joinedOffset + joinedCharacters == offset
        else {
            entries.append(entry)
            return false
        }
        // Taken out first, so that the text it holds is appended to in place.
        entries.removeLast()
        joined.append(text)
        entries.append(.text(joined, characters: joinedCharacters + characters, offset: joinedOffset, audience: audience))
        return false
    }

    /// Takes everything that waits; the next ``add(_:)`` asks for a take again.
    mutating func take() -> [Entry] {
        defer { entries = [] }
        return entries
    }
}
