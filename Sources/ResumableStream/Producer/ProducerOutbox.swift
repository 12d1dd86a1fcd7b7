/// What a ``Producer`` sends its listeners while they come in a burst, in order, until its backend takes it to
/// write (``ResumableStreamPublisher/enqueuePublishes(taking:)``). Text for the same listeners that continues
/// the text before it joins that text: a connection backlogged behind other streams' publishes then carries one
/// message where it would have carried one per chunk, and holds the text once instead of a command per chunk.
///
/// Only a burst waits here: an entry that comes more than ``burstInterval`` after the one before it, with
/// nothing waiting, is sent at once, its messages made on the producer's side, which costs the shared
/// connection's executor less than a take (a model's tokens, tens of milliseconds apart, never wait). What waits
/// is made into messages when taken, once for all the text that joined.
struct ProducerOutbox: Sendable {
    /// One thing to publish.
    enum Entry: Equatable {
        /// The stream's text from `offset` on (`characters` UTF-16 code units) for `audience`: plain to the
        /// plain listeners, in frames to the framed ones.
        case text(String, characters: Int, offset: Int, audience: ProducerStateMachine.Audience)
        /// A message as it is (an acknowledgement, the DONE message, an end frame) for `channels`. A failed
        /// publish of it sends the text again from `resendsFrom`, if given (an end frame).
        case message(String, channels: [String], resendsFrom: Int?)
    }

    /// What the caller does with an entry it added.
    enum Route {
        /// Send it at once: nothing waits, and no burst is on.
        case sendNow
        /// It waits, the first of a batch: ask the backend to take the outbox.
        case askForTake
        /// It waits (or joined the text before it) behind the first of its batch, whose take was asked for.
        case waits
    }

    /// How close an entry must follow the one before it to wait for the connection's take rather than go out at
    /// once.
    static var burstInterval: Duration { .milliseconds(1) }

    /// What waits, in order.
    private(set) var entries: [Entry] = []
    /// When the last entry came.
    private var lastAdded: ContinuousClock.Instant?

    /// Adds `entry`, which came at `now`, unless it is to be sent at once.
    mutating func add(_ entry: Entry, at now: ContinuousClock.Instant) -> Route {
        defer { lastAdded = now }
        guard !entries.isEmpty else {
            guard let lastAdded, now - lastAdded < Self.burstInterval else { return .sendNow }
            entries.append(entry)
            return .askForTake
        }
        guard case .text(let text, let characters, let offset, let audience) = entry,
            case .text(var joined, let joinedCharacters, let joinedOffset, let joinedAudience) = entries.last,
            joinedAudience == audience, joinedOffset + joinedCharacters == offset
        else {
            entries.append(entry)
            return .waits
        }
        // Taken out first, so that the text it holds is appended to in place.
        entries.removeLast()
        joined.append(text)
        entries.append(.text(joined, characters: joinedCharacters + characters, offset: joinedOffset, audience: audience))
        return .waits
    }

    /// Takes everything that waits; the next entry of a burst asks for a take again.
    mutating func take() -> [Entry] {
        defer { entries = [] }
        return entries
    }
}
