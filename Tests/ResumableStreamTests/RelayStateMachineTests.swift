import Testing

@testable import ResumableStream

/// The relay's rules, transition by transition, on a clock the test moves.
@Suite("Relay state machine", .timeLimit(.minutes(1)))
struct RelayStateMachineTests {
    let start = ContinuousClock.now
    let interval = Duration.seconds(2)

    @Test func onlyTheFirstMessageAcknowledgesAndJoinsTheWatchdog() {
        var machine = RelayStateMachine(startedAt: start)
        #expect(!machine.isAcknowledged)
        #expect(machine.messageReceived(at: start + .milliseconds(5)) == .acknowledgeAndJoinWatchdog)
        #expect(machine.isAcknowledged)
        #expect(machine.messageReceived(at: start + .milliseconds(9)) == .relay)
        #expect(machine.messageReceived(at: start + .milliseconds(12)) == .relay)
        #expect(machine.lastMessage == start + .milliseconds(12))
    }

    @Test func silenceIsAWholeIntervalSinceTheLastMessage() {
        var machine = RelayStateMachine(startedAt: start)
        #expect(machine.checkSilence(at: start + .milliseconds(1_999), interval: interval) == false)
        #expect(machine.checkSilence(at: start + interval, interval: interval) == true)
        _ = machine.messageReceived(at: start + .seconds(3))
        #expect(machine.checkSilence(at: start + .seconds(4), interval: interval) == false)
        #expect(machine.checkSilence(at: start + .seconds(5), interval: interval) == true)
    }

    @Test func theSecondFailedProducerCheckInARowConcludesExactlyOnce() {
        var machine = RelayStateMachine(startedAt: start)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.strikes == 1)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
        #expect(machine.isConcluding)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.strikes == 4)
    }

    @Test func aListeningProducerResetsTheStrikes() {
        var machine = RelayStateMachine(startedAt: start)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: true) == .keepWaiting)
        #expect(machine.strikes == 0)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
    }

    @Test func aRelayThatHeardSomethingStartsCountingAgain() {
        var machine = RelayStateMachine(startedAt: start)
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
        var machine = RelayStateMachine(startedAt: start)
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
        var machine = RelayStateMachine(startedAt: start)
        #expect(!machine.isProbeReceived)
        machine.probeReceived()
        #expect(machine.isProbeReceived)
        #expect(!machine.isAcknowledged)
        #expect(machine.lastMessage == start)
    }

    @Test func aSilenceWithAnotherCauseCanBeConcludedAgainLater() {
        var machine = RelayStateMachine(startedAt: start)
        _ = machine.producerChecked(listening: false)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
        machine.resumeWatching()
        #expect(machine.strikes == 0 && !machine.isConcluding)
        #expect(machine.producerChecked(listening: false) == .keepWaiting)
        #expect(machine.producerChecked(listening: false) == .concludeSilence)
    }
}
