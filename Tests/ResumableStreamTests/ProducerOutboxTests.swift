import Testing

@testable import ResumableStream

/// The producer's queue of publishes: in order, text that continues the text before it for the same listeners
/// joins it, anything else stays apart, and a take is asked for once per batch.
@Suite("Producer outbox", .timeLimit(.minutes(1)))
struct ProducerOutboxTests {
    private typealias Audience = ProducerStateMachine.Audience

    private static let follower = Audience(framed: ["F"])

    private func text(_ text: String, at offset: Int, to audience: Audience = follower) -> ProducerOutbox.Entry {
        .text(text, characters: text.utf16.count, offset: offset, audience: audience)
    }

    @Test func onlyTheFirstEntryOfABatchAsksForATake() {
        var outbox = ProducerOutbox()
        let asked = [
            outbox.add(text("ab", at: 0)), outbox.add(.message("ack", channels: ["G"], resendsFrom: nil)), outbox.add(text("é", at: 2)),
        ]
        #expect(asked == [true, false, false])
        let (first, second) = (outbox.take(), outbox.take())
        #expect(first.count == 3 && second.isEmpty)
        let askedAgain = outbox.add(text("cd", at: 3))
        #expect(askedAgain)
    }

    @Test func textThatContinuesTheTextBeforeItForTheSameListenersJoinsIt() {
        var outbox = ProducerOutbox()
        _ = outbox.add(text("ab", at: 0))
        _ = outbox.add(text("😀", at: 2))
        _ = outbox.add(text("c", at: 4))
        let taken = outbox.take()
        #expect(taken == [text("ab😀c", at: 0)])
    }

    @Test func textForOtherListenersOrNotContinuingOrAfterAMessageStaysApart() {
        var outbox = ProducerOutbox()
        let both = Audience(plain: ["P"], framed: ["F"])
        let entries: [ProducerOutbox.Entry] = [
            text("ab", at: 0),
            text("cd", at: 2, to: both),
            // A catch-up for a follower that is behind: not where the text before it ends.
            text("abcd", at: 0),
            .message("end", channels: ["F"], resendsFrom: 4),
            text("ef", at: 4),
        ]
        for entry in entries { _ = outbox.add(entry) }
        let taken = outbox.take()
        #expect(taken == entries)
    }

    @Test func aTakeEndsTheJoining() {
        var outbox = ProducerOutbox()
        _ = outbox.add(text("ab", at: 0))
        let first = outbox.take()
        _ = outbox.add(text("cd", at: 2))
        let second = outbox.take()
        #expect(first == [text("ab", at: 0)] && second == [text("cd", at: 2)])
    }
}
