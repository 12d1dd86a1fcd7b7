import Testing

@testable import ResumableStream

/// The producer's queue of publishes in a burst: an entry that comes alone goes out at once; in a burst, the
/// first asks for a take and the rest wait behind it, in order; text that continues the text before it for the
/// same listeners joins it; anything else stays apart.
@Suite("Producer outbox", .timeLimit(.minutes(1)))
struct ProducerOutboxTests {
    private typealias Audience = ProducerStateMachine.Audience
    private typealias Entry = ProducerOutbox.Entry

    private static let follower = Audience(framed: ["F"])
    private static let start = ContinuousClock.now

    private func text(_ text: String, at offset: Int, to audience: Audience = follower) -> Entry {
        .text(text, characters: text.utf16.count, offset: offset, audience: audience)
    }

    /// Adds each entry at `instant`; returns the routes, as labels.
    private func add(_ entries: [Entry], to outbox: inout ProducerOutbox, at instant: ContinuousClock.Instant = start) -> [String] {
        entries.map { entry in
            switch outbox.add(entry, at: instant) {
            case .sendNow: "now"
            case .askForTake: "take"
            case .waits: "wait"
            }
        }
    }

    @Test func anEntryThatComesAloneGoesOutAtOnce() {
        var outbox = ProducerOutbox()
        #expect(add([text("ab", at: 0)], to: &outbox) == ["now"])
        #expect(add([text("cd", at: 2)], to: &outbox, at: Self.start + ProducerOutbox.burstInterval) == ["now"])
        #expect(outbox.take().isEmpty)
    }

    @Test func inABurstTheFirstAsksForATakeAndTheRestWait() {
        var outbox = ProducerOutbox()
        let routes = add(
            [text("ab", at: 0), text("cd", at: 2), .message("ack", channels: ["G"], resendsFrom: nil), text("é", at: 4)], to: &outbox)
        #expect(routes == ["now", "take", "wait", "wait"])
        let (first, second) = (outbox.take(), outbox.take())
        #expect(first == [text("cd", at: 2), .message("ack", channels: ["G"], resendsFrom: nil), text("é", at: 4)] && second.isEmpty)
        // Still in the burst: the next waits for a take of its own.
        #expect(add([text("f", at: 5)], to: &outbox) == ["take"])
    }

    @Test func textThatContinuesTheTextBeforeItForTheSameListenersJoinsIt() {
        var outbox = ProducerOutbox()
        _ = add([text("a", at: 0), text("b", at: 1), text("😀", at: 2), text("c", at: 4)], to: &outbox)
        let taken = outbox.take()
        #expect(taken == [text("b😀c", at: 1)])
    }

    @Test func textForOtherListenersOrNotContinuingOrAfterAMessageStaysApart() {
        var outbox = ProducerOutbox()
        let both = Audience(plain: ["P"], framed: ["F"])
        let entries: [Entry] = [
            text("ab", at: 0),
            text("cd", at: 2, to: both),
            // A catch-up for a follower that is behind: not where the text before it ends.
            text("abcd", at: 0),
            .message("end", channels: ["F"], resendsFrom: 4),
            text("ef", at: 4),
        ]
        _ = add([.message("first", channels: ["F"], resendsFrom: nil)] + entries, to: &outbox)
        let taken = outbox.take()
        #expect(taken == entries)
    }

    @Test func aTakeEndsTheJoining() {
        var outbox = ProducerOutbox()
        _ = add([text("a", at: 0), text("b", at: 1)], to: &outbox)
        let first = outbox.take()
        _ = add([text("c", at: 2)], to: &outbox)
        let second = outbox.take()
        #expect(first == [text("b", at: 1)] && second == [text("c", at: 2)])
    }
}
