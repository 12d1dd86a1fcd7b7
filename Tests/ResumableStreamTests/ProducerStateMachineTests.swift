@testable import ResumableStream
import Testing

/// The producer's rules, transition by transition, without a backend.
@Suite("Producer state machine", .timeLimit(.minutes(1)))
struct ProducerStateMachineTests {
    /// A machine that answers at once (it created the id), with `chunks` appended.
    func answering(_ chunks: String..., bufferLimit: Int? = nil) throws -> ProducerStateMachine {
        var machine = ProducerStateMachine(isAnnounced: false, bufferLimit: bufferLimit)
        for chunk in chunks { _ = try machine.append(chunk, characters: chunk.utf16.count, forgetting: []) }
        return machine
    }

    @Test func aProducerThatCreatedTheIDAnswersAtOnceAndRegistersTheListener() throws {
        var machine = try answering("héllo ", "wörld")
        #expect(machine.resumeRequested(on: "A", skipCharacters: 3) == .replayThenLive("lo wörld"))
        #expect(machine.listeners == ["A"])
        #expect(try machine.append("!", characters: 1, forgetting: []) == ["A"])
        #expect(machine.buffer == "héllo wörld!")
        #expect(machine.bufferedCharacters == 12)
    }

    @Test func theReplayIsSlicedInUTF16LikeJavaScript() throws {
        var machine = try answering("a😀b")
        #expect(machine.resumeRequested(on: "A", skipCharacters: 1) == .replayThenLive("😀b"))
        #expect(machine.resumeRequested(on: "B", skipCharacters: -1) == .replayThenLive("b"))
        #expect(machine.resumeRequested(on: "C", skipCharacters: 4) == .replayThenLive(""))
        #expect(machine.listeners == ["A", "B", "C"])
    }

    @Test func anAnnouncedProducerLeavesRequestsToAnotherUntilItsOwnAnnouncement() throws {
        var machine = ProducerStateMachine(isAnnounced: true, bufferLimit: nil)
        #expect(machine.isAwaitingOwnAnnouncement)
        _ = try machine.append("abc", characters: 3, forgetting: [])
        #expect(machine.resumeRequested(on: "early", skipCharacters: 0) == .leaveToAnotherProducer)
        #expect(machine.listeners.isEmpty)
        machine.ownAnnouncementReceived()
        #expect(machine.role == .answering)
        #expect(!machine.isAwaitingOwnAnnouncement)
        #expect(machine.resumeRequested(on: "late", skipCharacters: 1) == .replayThenLive("bc"))
        #expect(machine.listeners == ["late"])
    }

    @Test func aReplacedProducerAnswersNoMoreButKeepsPublishingToItsListeners() throws {
        var machine = try answering("abc")
        _ = machine.resumeRequested(on: "A", skipCharacters: 0)
        #expect(machine.shouldRefreshExpiry)
        machine.replaced()
        #expect(machine.role == .replaced)
        #expect(!machine.shouldRefreshExpiry)
        #expect(machine.resumeRequested(on: "B", skipCharacters: 0) == .leaveToAnotherProducer)
        #expect(try machine.append("d", characters: 1, forgetting: []) == ["A"])
        machine.ownAnnouncementReceived()
        #expect(machine.role == .replaced)
    }

    @Test func afterFinishAResumeGetsTheReplayThenDoneAndIsNotRegistered() throws {
        var machine = try answering("abc")
        _ = machine.resumeRequested(on: "A", skipCharacters: 0)
        _ = machine.resumeRequested(on: "B", skipCharacters: 0)
        #expect(machine.finish() == ["A", "B"])
        #expect(machine.isFinished)
        #expect(!machine.shouldRefreshExpiry)
        #expect(machine.resumeRequested(on: "C", skipCharacters: 1) == .replayThenDone("bc"))
        #expect(machine.listeners.isEmpty)
    }

    @Test func aListenerThatIsGoneIsNotPublishedTo() throws {
        var machine = try answering()
        for listener in ["A", "B", "C"] { _ = machine.resumeRequested(on: listener, skipCharacters: 0) }
        #expect(try machine.append("x", characters: 1, forgetting: ["B"]) == ["A", "C"])
        #expect(machine.listeners == ["A", "C"])
        #expect(try machine.append("y", characters: 1, forgetting: []) == ["A", "C"])
        #expect(machine.finish() == ["A", "C"])
    }

    @Test func theBufferLimitRefusesAChunkAndBuffersNothingOfIt() throws {
        var machine = try answering("abcd", bufferLimit: 5)
        _ = machine.resumeRequested(on: "A", skipCharacters: 0)
        #expect(throws: ResumableStreamError.bufferLimitExceeded(5)) {
            try machine.append("ef", characters: 2, forgetting: [])
        }
        #expect(machine.buffer == "abcd")
        #expect(machine.bufferedCharacters == 4)
        #expect(try machine.append("e", characters: 1, forgetting: []) == ["A"])
        #expect(machine.bufferedCharacters == 5)
    }

    @Test func stopIsRecordedForATaskThatHasNotStartedYet() {
        var machine = ProducerStateMachine(isAnnounced: false, bufferLimit: nil)
        #expect(!machine.isStopRequested)
        machine.requestStop()
        #expect(machine.isStopRequested)
        #expect(machine.shouldRefreshExpiry)
    }
}
