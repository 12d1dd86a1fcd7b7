import Testing

@testable import ResumableStream

/// The relay's rules, transition by transition, on a clock the test moves.
@Suite("Relay state machine", .timeLimit(.minutes(1)))
struct RelayStateMachineTests {
    let start = ContinuousClock.now
    let interval = Duration.seconds(2)

    /// A relay whose producer acknowledged at `start`: the watchdog watches it from there.
    private func acknowledged() -> RelayStateMachine {
        var machine = RelayStateMachine(listenerID: "L", startedAt: start)
        #expect(machine.messageReceived(at: start) == .acknowledgeAndJoinWatchdog)
        return machine
    }

    @Test func onlyTheFirstMessageAcknowledgesAndJoinsTheWatchdog() {
        var machine = RelayStateMachine(listenerID: "L", startedAt: start)
        #expect(!machine.isAcknowledged)
        #expect(machine.messageReceived(at: start + .milliseconds(5)) == .acknowledgeAndJoinWatchdog)
        #expect(machine.isAcknowledged)
        #expect(machine.messageReceived(at: start + .milliseconds(9)) == .relay)
        #expect(machine.messageReceived(at: start + .milliseconds(12)) == .relay)
        #expect(machine.lastMessage == start + .milliseconds(12))
    }

    @Test func silenceIsAWholeIntervalSinceTheLastMessage() {
        var machine = acknowledged()
        #expect(machine.checkSilence(at: start + .milliseconds(1_999), interval: interval) == false)
        #expect(machine.checkSilence(at: start + interval, interval: interval) == true)
        _ = machine.messageReceived(at: start + .seconds(3))
        #expect(machine.checkSilence(at: start + .seconds(4), interval: interval) == false)
        #expect(machine.checkSilence(at: start + .seconds(5), interval: interval) == true)
    }

    @Test func theSecondFailedProducerCheckInARowConcludesExactlyOnce() {
        var machine = acknowledged()
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.strikes == 1)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
        #expect(machine.isConcluding)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.phase == .concluding)
    }

    @Test func aListeningProducerResetsTheStrikes() {
        var machine = acknowledged()
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: true) == .keepWaiting)
        #expect(machine.strikes == 0)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
    }

    @Test func aRelayThatHeardSomethingStartsCountingAgain() {
        var machine = acknowledged()
        #expect(machine.checkSilence(at: start + interval, interval: interval) == true)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        _ = machine.messageReceived(at: start + .seconds(3))
        #expect(machine.checkSilence(at: start + .seconds(4), interval: interval) == false)
        #expect(machine.strikes == 0)
        #expect(machine.checkSilence(at: start + .seconds(5), interval: interval) == true)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
    }

    @Test func aRecoveryRequestRestartsTheWatch() {
        var machine = acknowledged()
        #expect(machine.checkSilence(at: start + interval, interval: interval) == true)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        // The relay asked again: the answer is on its way, and the failed check before it no longer counts.
        machine.recoveryRequested(at: start + .seconds(3))
        #expect(machine.strikes == 0)
        #expect(machine.checkSilence(at: start + .seconds(4), interval: interval) == false)
        #expect(machine.checkSilence(at: start + .seconds(5), interval: interval) == true)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
    }

    @Test func theProbeIsRecordedWithoutCountingAsAMessage() {
        var machine = RelayStateMachine(listenerID: "L", startedAt: start)
        #expect(!machine.isProbeReceived)
        machine.probeReceived()
        #expect(machine.isProbeReceived)
        #expect(!machine.isAcknowledged)
        #expect(machine.lastMessage == start)
    }

    @Test func aSilenceWithAnotherCauseCanBeConcludedAgainLater() {
        var machine = acknowledged()
        _ = machine.producerChecked(listening: false)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
        machine.resumeWatching()
        #expect(machine.strikes == 0 && !machine.isConcluding)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
    }

    @Test func beforeTheAcknowledgementTheWatchdogHasNothingToCount() {
        var machine = RelayStateMachine(listenerID: "L", startedAt: start)
        #expect(machine.phase == .awaitingAcknowledgement)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.strikes == 0 && machine.phase == .awaitingAcknowledgement)
    }

    /// With frames, the follower confirms every half window on its current listener channel; a recovery moves
    /// to a fresh one and confirms from where it asked again; a lost confirmation is sent again once.
    @Test func confirmationsFollowTheWindowTheChannelAndTheRecoveries() {
        var machine = RelayStateMachine(listenerID: "L", startedAt: start)
        #expect(machine.confirmationDue(upTo: 10_000, window: 1_000) == nil, "no frames: nothing to confirm")
        _ = machine.messageReceived(at: start)
        machine.framesBegan(at: 100)
        #expect(machine.startOffset == 100 && machine.confirmed == 100)
        #expect(machine.confirmationDue(upTo: 599, window: 1_000) == nil)
        #expect(machine.confirmationDue(upTo: 600, window: 1_000) == "L")
        #expect(machine.confirmed == 600)
        #expect(machine.lostConfirmation() == nil)
        machine.confirmationLost()
        #expect(machine.lostConfirmation().map { [$0.listenerID: $0.offset] } == ["L": 600])
        #expect(machine.lostConfirmation() == nil)
        machine.recovering(on: "M", from: 700)
        #expect(machine.listenerID == "M" && machine.confirmed == 700 && machine.startOffset == 100)
        #expect(machine.confirmationDue(upTo: 1_199, window: 1_000) == nil)
        #expect(machine.confirmationDue(upTo: 1_200, window: 1_000) == "M")
    }
}
