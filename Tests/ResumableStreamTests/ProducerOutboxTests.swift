import Testing

@testable import ResumableStream

/// The producer's queue of publishes in a burst: an entry that comes alone goes out at once; in a burst, the
/// first asks for a take and the rest wait behind it, in order; text that continues the text before it for the
/// same listeners joins it (its messages are then made anew when taken); anything else stays apart with the
/// messages it came with.
@Suite("Producer outbox", .timeLimit(.minutes(1)))
struct ProducerOutboxTests {
    private typealias Audience = ProducerStateMachine.Audience
    /// Messages here are a label per entry.
    private typealias Outbox = ProducerOutbox<String>

    private static let follower = Audience(framed: ["F"])
    private static let start = ContinuousClock.now

    private func text(_ text: String, at offset: Int, to audience: Audience = follower) -> Outbox.Entry {
        .text(text, characters: text.utf16.count, offset: offset, audience: audience)
    }

    /// Adds each entry with its index as its messages, all at `instant`; returns the routes, as labels.
    private func add(_ entries: [Outbox.Entry], to outbox: inout Outbox, at instant: ContinuousClock.Instant = start) -> [String] {
        entries.enumerated().map { index, entry in
            switch outbox.add(entry, messages: String(index), at: instant) {
            case .sendNow(let messages): "now \(messages)"
            case .askForTake: "take"
            case .waits: "wait"
            }
        }
    }

    @Test func anEntryThatComesAloneGoesOutAtOnce() {
        var outbox = Outbox()
        #expect(add([text("ab", at: 0)], to: &outbox) == ["now 0"])
        #expect(add([text("cd", at: 2)], to: &outbox, at: Self.start + Outbox.burstInterval) == ["now 0"])
        #expect(outbox.take().isEmpty)
    }

    @Test func inABurstTheFirstAsksForATakeAndTheRestWait() {
        var outbox = Outbox()
        let routes = add(
            [text("ab", at: 0), text("cd", at: 2), .message("ack", channels: ["G"], resendsFrom: nil), text("é", at: 4)], to: &outbox)
        #expect(routes == ["now 0", "take", "wait", "wait"])
        let (first, second) = (outbox.take(), outbox.take())
        #expect(first.count == 3 && second.isEmpty)
        // Still in the burst: the next waits for a take of its own.
        #expect(add([text("f", at: 5)], to: &outbox) == ["take"])
    }

    @Test func textThatContinuesTheTextBeforeItForTheSameListenersJoinsIt() {
        var outbox = Outbox()
        _ = add([text("a", at: 0), text("b", at: 1), text("😀", at: 2), text("c", at: 4)], to: &outbox)
        let taken = outbox.take()
        #expect(taken.map(\.entry) == [text("b😀c", at: 1)])
        // Its messages are made when it is taken.
        #expect(taken.map(\.messages) == [nil])
    }

    @Test func textForOtherListenersOrNotContinuingOrAfterAMessageStaysApartWithItsMessages() {
        var outbox = Outbox()
        let both = Audience(plain: ["P"], framed: ["F"])
        let entries: [Outbox.Entry] = [
            text("ab", at: 0),
            text("cd", at: 2, to: both),
            // A catch-up for a follower that is behind: not where the text before it ends.
            text("abcd", at: 0),
            .message("end", channels: ["F"], resendsFrom: 4),
            text("ef", at: 4),
        ]
        _ = add([.message("first", channels: ["F"], resendsFrom: nil)] + entries, to: &outbox)
        let taken = outbox.take()
        #expect(taken.map(\.entry) == entries)
        #expect(taken.map(\.messages) == ["1", "2", "3", "4", "5"])
    }

    @Test func aTakeEndsTheJoining() {
        var outbox = Outbox()
        _ = add([text("a", at: 0), text("b", at: 1)], to: &outbox)
        let first = outbox.take()
        _ = add([text("c", at: 2)], to: &outbox)
        let second = outbox.take()
        #expect(first.map(\.entry) == [text("b", at: 1)] && second.map(\.entry) == [text("c", at: 2)])
    }
}
