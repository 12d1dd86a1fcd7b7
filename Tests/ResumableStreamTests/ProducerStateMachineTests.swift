@testable import ResumableStream
import Testing

/// The producer's rules, transition by transition, without a backend.
@Suite("Producer state machine", .timeLimit(.minutes(1)))
struct ProducerStateMachineTests {
    private typealias Machine = ProducerStateMachine
    private typealias Delivery = ProducerStateMachine.Delivery

    /// A machine that answers at once (it created the id), with `chunks` appended.
    private func answering(_ chunks: String..., bufferLimit: Int? = nil) throws -> Machine {
        var machine = Machine(isAnnounced: false, bufferLimit: bufferLimit)
        for chunk in chunks { _ = try append(chunk, to: &machine) }
        return machine
    }

    /// Appends `chunk` as the producer does, with what publishes reported.
    private func append(
        _ chunk: String, to machine: inout Machine, gone: Set<String> = [], undelivered: [String: Int] = [:]
    ) throws(ResumableStreamError) -> Machine.Fanout {
        try machine.append(chunk, characters: chunk.utf16.count, forgetting: gone, undelivered: undelivered)
    }

    /// A resume request for plain text (a TypeScript consumer's).
    private func resume(_ machine: inout Machine, _ channel: String, from skip: Int, framed: Bool = false) -> Machine.ResumeAction {
        machine.resumeRequested(on: channel, skipCharacters: skip, wantsFrames: framed)
    }

    @Test func aProducerThatCreatedTheIDAnswersAtOnceAndRegistersTheListener() throws {
        var machine = try answering("héllo ", "wörld")
        #expect(resume(&machine, "A", from: 3) == .replayThenLive(Delivery(channel: "A", text: "lo wörld", offset: 3)))
        #expect(machine.listeners == .init(plain: ["A"]))
        #expect(try append("!", to: &machine) == .init(resends: [], audience: .init(plain: ["A"]), offset: 11))
        #expect(machine.buffer == "héllo wörld!")
        #expect(machine.bufferedCharacters == 12)
    }

    @Test func theReplayIsSlicedInUTF16LikeJavaScriptAndSaysWhereItStarts() throws {
        var machine = try answering("a😀b")
        #expect(resume(&machine, "A", from: 1) == .replayThenLive(Delivery(channel: "A", text: "😀b", offset: 1)))
        #expect(resume(&machine, "B", from: -1) == .replayThenLive(Delivery(channel: "B", text: "b", offset: 3)))
        #expect(resume(&machine, "C", from: 4) == .replayThenLive(Delivery(channel: "C", text: "", offset: 4)))
        // Past the end: the replay is empty and starts at the end, the offset a framed follower goes on from.
        #expect(resume(&machine, "D", from: .max, framed: true) == .replayThenLive(Delivery(channel: "D", text: "", offset: 4)))
        #expect(resume(&machine, "E", from: .min, framed: true) == .replayThenLive(Delivery(channel: "E", text: "a😀b", offset: 0)))
        #expect(machine.listeners == .init(plain: ["A", "B", "C"], framed: ["D", "E"]))
    }

    @Test func anAnnouncedProducerLeavesRequestsToAnotherUntilItsOwnAnnouncement() throws {
        var machine = Machine(isAnnounced: true, bufferLimit: nil)
        #expect(machine.isAwaitingOwnAnnouncement)
        _ = try append("abc", to: &machine)
        #expect(resume(&machine, "early", from: 0) == .leaveToAnotherProducer)
        #expect(machine.listeners.isEmpty)
        machine.ownAnnouncementReceived()
        #expect(machine.role == .answering)
        #expect(!machine.isAwaitingOwnAnnouncement)
        #expect(resume(&machine, "late", from: 1) == .replayThenLive(Delivery(channel: "late", text: "bc", offset: 1)))
        #expect(machine.listeners == .init(plain: ["late"]))
    }

    @Test func aReplacedProducerAnswersNoMoreButKeepsPublishingToItsListeners() throws {
        var machine = try answering("abc")
        _ = resume(&machine, "A", from: 0)
        #expect(machine.shouldRefreshExpiry)
        machine.replaced()
        #expect(machine.role == .replaced)
        #expect(!machine.shouldRefreshExpiry)
        #expect(resume(&machine, "B", from: 0) == .leaveToAnotherProducer)
        #expect(try append("d", to: &machine).audience == .init(plain: ["A"]))
        machine.ownAnnouncementReceived()
        #expect(machine.role == .replaced)
    }

    @Test func afterFinishAResumeGetsTheReplayThenTheEndAndIsNotRegistered() throws {
        var machine = try answering("abc")
        _ = resume(&machine, "A", from: 0)
        _ = resume(&machine, "B", from: 0, framed: true)
        #expect(machine.finish() == .init(plain: ["A"], framed: ["B"]) && machine.bufferedCharacters == 3)
        #expect(machine.isFinished)
        #expect(!machine.shouldRefreshExpiry)
        #expect(resume(&machine, "C", from: 1) == .replayThenDone(Delivery(channel: "C", text: "bc", offset: 1), length: 3))
        #expect(machine.listeners.isEmpty)
    }

    @Test func aListenerThatIsGoneIsNotPublishedTo() throws {
        var machine = try answering()
        for listener in ["A", "B", "C"] { _ = resume(&machine, listener, from: 0, framed: listener == "C") }
        #expect(try append("x", to: &machine, gone: ["B", "C"]).audience == .init(plain: ["A"]))
        #expect(try append("y", to: &machine).audience == .init(plain: ["A"]))
        #expect(machine.finish() == .init(plain: ["A"]))
    }

    @Test func aFramedListenerAPublishFailedToReachGetsTheTextAgainFromWhereItFailed() throws {
        var machine = try answering("ab")
        _ = resume(&machine, "F", from: 0, framed: true)
        _ = resume(&machine, "P", from: 0)
        _ = try append("cd", to: &machine)
        // The publish of "cd" (at 2) failed; plain listeners cannot be helped, and "gone" has nothing to re-send.
        let fanout = try append("e", to: &machine, undelivered: ["F": 2, "P": 2, "gone": 0])
        #expect(fanout.resends == [Delivery(channel: "F", text: "cd", offset: 2)])
        #expect(fanout.audience == .init(plain: ["P"], framed: ["F"]) && fanout.offset == 4)
        let finished = machine.finish()
        #expect(machine.resends(for: ["F": 4], among: finished.framed) == [Delivery(channel: "F", text: "e", offset: 4)])
        #expect(machine.resends(for: ["F": 5], among: finished.framed).isEmpty)
    }

    @Test func theBufferLimitRefusesAChunkAndBuffersNothingOfIt() throws {
        var machine = try answering("abcd", bufferLimit: 5)
        _ = resume(&machine, "A", from: 0)
        #expect(throws: ResumableStreamError.bufferLimitExceeded(5)) {
            try append("ef", to: &machine)
        }
        #expect(machine.buffer == "abcd")
        #expect(machine.bufferedCharacters == 4)
        #expect(try append("e", to: &machine).audience == .init(plain: ["A"]))
        #expect(machine.bufferedCharacters == 5)
    }

    @Test func stopIsRecordedForATaskThatHasNotStartedYet() {
        var machine = Machine(isAnnounced: false, bufferLimit: nil)
        #expect(!machine.isStopRequested)
        machine.requestStop()
        #expect(machine.isStopRequested)
        #expect(machine.shouldRefreshExpiry)
    }
}
