import Testing

@testable import ResumableStream

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

    /// A resume request: for plain text (a TypeScript consumer's), or for frames within `window`.
    private func resume(
        _ machine: inout Machine, _ channel: String, from skip: Int, framed: Bool = false, window: Int? = nil
    ) -> Delivery? {
        machine.resumeRequested(on: channel, skipCharacters: skip, framing: framed ? FrameRequest(window: window) : nil)
    }

    /// Producing, finishing (the end being written: requests get the text and wait for the end), finalised
    /// (requests get the text and the end at once); a stop may be asked in any of them.
    @Test func thePhasesMoveForwardOnlyAndEachAnswersRequestsItsWay() throws {
        var machine = try answering("ab")
        #expect(machine.phase == .producing && !machine.isFinished && machine.shouldRefreshExpiry)
        machine.finish()
        #expect(machine.phase == .finishing && machine.isFinished && !machine.isFinalised && !machine.shouldRefreshExpiry)
        #expect(resume(&machine, "P", from: 0) == Delivery(channel: "P", text: "ab", offset: 0))
        #expect(resume(&machine, "F", from: 1, framed: true) == Delivery(channel: "F", text: "b", offset: 1))
        let (plain, framed) = machine.finalised(as: .completed)
        #expect(plain == ["P"] && framed == [Delivery(channel: "F", text: "", offset: 2, ending: .completed)])
        #expect(machine.phase == .finalised(.completed) && machine.isFinalised)
        #expect(resume(&machine, "Q", from: 1) == Delivery(channel: "Q", text: "b", offset: 1, ending: .completed))
        #expect(machine.listeners.plain.isEmpty, "a plain listener of a finalised stream gets the end at once")
        #expect(!machine.isStopRequested)
        machine.requestStop()
        #expect(machine.isStopRequested && machine.phase == .finalised(.completed))
    }

    @Test func aProducerThatCreatedTheIDAnswersAtOnceAndRegistersTheListener() throws {
        var machine = try answering("héllo ", "wörld")
        #expect(resume(&machine, "A", from: 3) == Delivery(channel: "A", text: "lo wörld", offset: 3))
        #expect(machine.listeners == .init(plain: ["A"]))
        #expect(try append("!", to: &machine) == .init(catchUps: [], audience: .init(plain: ["A"]), offset: 11))
        #expect(machine.buffer == "héllo wörld!")
        #expect(machine.bufferedCharacters == 12)
    }

    @Test func theReplayIsSlicedInUTF16LikeJavaScriptAndSaysWhereItStarts() throws {
        var machine = try answering("a😀b")
        #expect(resume(&machine, "A", from: 1) == Delivery(channel: "A", text: "😀b", offset: 1))
        #expect(resume(&machine, "B", from: -1) == Delivery(channel: "B", text: "b", offset: 3))
        #expect(resume(&machine, "C", from: 4) == Delivery(channel: "C", text: "", offset: 4))
        // Past the end: the replay is empty and starts at the end, the offset a framed follower goes on from.
        #expect(resume(&machine, "D", from: .max, framed: true) == Delivery(channel: "D", text: "", offset: 4))
        #expect(resume(&machine, "E", from: .min, framed: true) == Delivery(channel: "E", text: "a😀b", offset: 0))
        // Inside the surrogate pair: U+FFFD for its low half, so the text keeps its length.
        #expect(resume(&machine, "F", from: 2, framed: true) == Delivery(channel: "F", text: "\u{FFFD}b", offset: 2))
        #expect(machine.listeners == .init(plain: ["A", "B", "C"], framed: ["D", "E", "F"]))
    }

    @Test func anAnnouncedProducerLeavesRequestsToAnotherUntilItsOwnAnnouncement() throws {
        var machine = Machine(isAnnounced: true, bufferLimit: nil)
        #expect(machine.isAwaitingOwnAnnouncement)
        _ = try append("abc", to: &machine)
        #expect(resume(&machine, "early", from: 0) == nil)
        #expect(machine.listeners.isEmpty)
        machine.ownAnnouncementReceived()
        #expect(machine.role == .answering)
        #expect(!machine.isAwaitingOwnAnnouncement)
        #expect(resume(&machine, "late", from: 1) == Delivery(channel: "late", text: "bc", offset: 1))
        #expect(machine.listeners == .init(plain: ["late"]))
    }

    @Test func aReplacedProducerAnswersNoMoreButKeepsPublishingToItsListeners() throws {
        var machine = try answering("abc")
        _ = resume(&machine, "A", from: 0)
        #expect(machine.shouldRefreshExpiry)
        machine.replaced()
        #expect(machine.role == .replaced)
        #expect(!machine.shouldRefreshExpiry)
        #expect(resume(&machine, "B", from: 0) == nil)
        #expect(try append("d", to: &machine).audience == .init(plain: ["A"]))
        machine.ownAnnouncementReceived()
        #expect(machine.role == .replaced)
    }

    /// An announcement of a newer generation holds the producer's writes back until the generation key refutes
    /// it; a newer generation claimed in the same process does for good, and, if its claim announced nothing,
    /// takes every request from then on.
    @Test func aKnownNewerGenerationKeepsTheProducerFromWritingItsKeys() throws {
        var announced = try answering("abc")
        #expect(announced.mayWriteItsKeys && announced.successor == .none)
        announced.newerGenerationAnnounced()
        #expect(!announced.mayWriteItsKeys && announced.successor == .announced && announced.role == .answering)
        announced.generationKeyNamesThisProducer()
        #expect(announced.mayWriteItsKeys, "a stale or forged announcement, refuted by the key")

        var claimed = try answering("abc")
        claimed.newerGenerationClaimedInThisProcess(announced: true)
        #expect(!claimed.mayWriteItsKeys && claimed.role == .answering, "requests before the announcement are still its own")
        claimed.generationKeyNamesThisProducer()
        claimed.newerGenerationAnnounced()
        #expect(claimed.successor == .claimedInThisProcess && !claimed.mayWriteItsKeys, "certain: no key clears it")

        var unannounced = try answering("abc")
        unannounced.newerGenerationClaimedInThisProcess(announced: false)
        #expect(unannounced.role == .replaced && resume(&unannounced, "A", from: 0) == nil)

        var replaced = try answering("abc")
        replaced.replaced()
        #expect(!replaced.mayWriteItsKeys && replaced.successor == .none)
    }

    /// An end that Redis did not take is owed until a write of it succeeds.
    @Test func anUnwrittenEndIsOwedUntilWritten() throws {
        var machine = try answering("abc")
        machine.finish()
        _ = machine.finalised(as: .completed)
        #expect(!machine.isEndUnwritten)
        machine.endWritten(false)
        #expect(machine.isEndUnwritten)
        machine.endWritten(true)
        #expect(!machine.isEndUnwritten)
    }

    @Test func theEndWaitsForTheFinalisationAndThenGoesToEveryListener() throws {
        var machine = try answering("abc")
        _ = resume(&machine, "A", from: 0)
        _ = resume(&machine, "B", from: 0, framed: true)
        machine.finish()
        #expect(machine.isFinished && !machine.shouldRefreshExpiry)
        // Between the end of the source and the finalisation, a request gets the text, and the end later.
        #expect(resume(&machine, "C", from: 1) == Delivery(channel: "C", text: "bc", offset: 1))
        let (plain, framed) = machine.finalised(as: .completed)
        #expect(plain == ["A", "C"])
        #expect(framed == [Delivery(channel: "B", text: "", offset: 3, ending: .completed)])
        #expect(!machine.isServingFramedListeners)
        #expect(resume(&machine, "D", from: 1) == Delivery(channel: "D", text: "bc", offset: 1, ending: .completed))
        #expect(resume(&machine, "E", from: 2, framed: true) == Delivery(channel: "E", text: "c", offset: 2, ending: .completed))
        #expect(machine.listeners == .init(framed: ["B", "E"]))
    }

    @Test func aListenerThatIsGoneIsNotPublishedTo() throws {
        var machine = try answering()
        for listener in ["A", "B", "C"] { _ = resume(&machine, listener, from: 0, framed: listener == "C") }
        #expect(try append("x", to: &machine, gone: ["B", "C"]).audience == .init(plain: ["A"]))
        #expect(try append("y", to: &machine).audience == .init(plain: ["A"]))
        machine.finish()
        #expect(machine.finalised(as: .completed).plain == ["A"])
    }

    @Test func aFramedListenerAPublishFailedToReachGetsTheTextAgainFromWhereItFailed() throws {
        var machine = try answering("ab")
        _ = resume(&machine, "F", from: 0, framed: true)
        _ = resume(&machine, "P", from: 0)
        _ = try append("cd", to: &machine)
        // The publish of "cd" (at 2) failed; plain listeners cannot be helped, and "gone" has nothing to re-send.
        let fanout = try append("e", to: &machine, undelivered: ["F": 2, "P": 2, "gone": 0])
        #expect(fanout.catchUps == [Delivery(channel: "F", text: "cde", offset: 2)])
        #expect(fanout.audience == .init(plain: ["P"]) && fanout.offset == 4)
        machine.finish()
        #expect(machine.redeliver(["F": 4]) == [Delivery(channel: "F", text: "e", offset: 4)])
        #expect(machine.finalised(as: .completed).deliveries == [Delivery(channel: "F", text: "", offset: 5, ending: .completed)])
        // The end frame's publish failed too: the end again, and nothing more once it is out.
        #expect(machine.redeliver(["F": 5]) == [Delivery(channel: "F", text: "", offset: 5, ending: .completed)])
        #expect(machine.redeliver(["F": 6]).isEmpty)
        #expect(machine.redeliver(["P": 0]).isEmpty)
    }

    @Test func aWindowHoldsTextBackUntilTheFollowerConfirmsAndThenSendsItMerged() throws {
        var machine = try answering(String(repeating: "a", count: 1500))
        // The replay is cut at the window.
        #expect(
            resume(&machine, "W", from: 100, framed: true, window: 1024)
                == Delivery(channel: "W", text: String(repeating: "a", count: 1024), offset: 100))
        _ = resume(&machine, "U", from: 0, framed: true)
        // The unlimited listener takes the live chunk; the full one waits.
        #expect(try append("b", to: &machine) == .init(catchUps: [], audience: .init(framed: ["U"]), offset: 1500))
        #expect(try append("c", to: &machine).audience == .init(framed: ["U"]))
        // A confirmation of half the window: the rest of the buffer, merged, as far as the window reaches.
        #expect(machine.received(on: "W", upTo: 612) == Delivery(channel: "W", text: String(repeating: "a", count: 376) + "bc", offset: 1124))
        #expect(machine.confirmations == 1)
        // The listener is live again.
        #expect(try append("d", to: &machine).audience == .init(framed: ["W", "U"]))
        // Confirmations never go backwards nor past what was sent; an unknown listener gets nothing.
        #expect(machine.received(on: "W", upTo: 10) == nil)
        #expect(machine.received(on: "W", upTo: .max) == nil)
        #expect(machine.received(on: "nobody", upTo: 5) == nil)
        #expect(machine.framedListeners.first?.confirmed == 1503)
    }

    @Test func aWindowNeverCutsASurrogatePair() throws {
        var machine = try answering(String(repeating: "a", count: 1023) + "😀" + "b")
        #expect(
            resume(&machine, "W", from: 0, framed: true, window: 1024)
                == Delivery(channel: "W", text: String(repeating: "a", count: 1023), offset: 0))
        #expect(machine.received(on: "W", upTo: 1023) == Delivery(channel: "W", text: "😀b", offset: 1023))
    }

    @Test func aLostConfirmationCannotHoldAListenerBackForGood() throws {
        var machine = try answering(String(repeating: "a", count: 3000))
        _ = resume(&machine, "W", from: 0, framed: true, window: 1024)
        #expect(try append("b", to: &machine).audience.isEmpty)
        // A gap in the request subscription: every window opens from what was sent.
        #expect(machine.confirmationsMayHaveBeenLost() == [Delivery(channel: "W", text: String(repeating: "a", count: 1024), offset: 1024)])
    }

    @Test func aFinishedStreamWaitsForTheWindowBeforeItsEnd() throws {
        var machine = try answering(String(repeating: "a", count: 2000))
        _ = resume(&machine, "W", from: 0, framed: true, window: 1024)
        machine.finish()
        #expect(machine.finalised(as: .completed).deliveries.isEmpty)
        #expect(machine.isServingFramedListeners)
        #expect(
            machine.received(on: "W", upTo: 1024)
                == Delivery(channel: "W", text: String(repeating: "a", count: 976), offset: 1024, ending: .completed))
        #expect(!machine.isServingFramedListeners)
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
