import Testing

@testable import RedisBridge

@Suite("Connection lifecycle (no Redis)", .timeLimit(.minutes(1)))
struct ConnectionStateMachineTests {
    private typealias Machine = ConnectionStateMachine<String>

    private func ready(_ connection: String = "c1") -> Machine {
        var machine = Machine()
        _ = machine.connectionRequested()
        let started = machine.resolved(connection)
        #expect(started)
        _ = machine.connectionReady()
        return machine
    }

    @Test func theFirstCallerStartsTheOnlyAttemptAndLaterOnesWait() {
        var machine = Machine()
        guard case .wait(startResolving: true) = machine.connectionRequested() else { Issue.record("no attempt"); return }
        guard case .wait(startResolving: false) = machine.connectionRequested() else { Issue.record("two attempts"); return }
        let startsResolving = machine.startRequested()
        #expect(startsResolving == false)
        let started = machine.resolved("c1")
        #expect(started)
        guard case .handOut("c1", isReconnection: false) = machine.connectionReady() else { Issue.record("not handed out"); return }
        guard case .use("c1") = machine.connectionRequested() else { Issue.record("not used at once"); return }
        #expect(machine.readyConnection == "c1")
    }

    @Test func failedAttemptsBackOffFurtherAndAReadyConnectionResetsThem() {
        var machine = Machine()
        _ = machine.connectionRequested()
        let failure = machine.resolveFailed(.connectionFailed("dns"))
        #expect(failure?.failedAttempts == 1)
        let reconnects = machine.reconnectTimerFired()
        #expect(reconnects)
        let started = machine.resolved("c1")
        #expect(started)
        guard case .attemptFailed(let failure) = machine.connectionClosed(.connectionFailed("refused")) else {
            Issue.record("not an attempt failure"); return
        }
        #expect(failure.failedAttempts == 2 && failure.error == .connectionFailed("refused"))
        let reconnectsAgain = machine.reconnectTimerFired()
        #expect(reconnectsAgain)
        let startedAgain = machine.resolved("c2")
        #expect(startedAgain)
        guard case .handOut("c2", isReconnection: false) = machine.connectionReady() else { Issue.record("not ready"); return }
        #expect(machine.failedAttempts == 0)
    }

    @Test func aDropReconnectsAtOnceAndTheNextReadyOneIsAReconnection() {
        var machine = ready()
        guard case .connectionLost(.connectionLost("eof"), failedAttempts: 0) = machine.connectionClosed(.connectionLost("eof")) else {
            Issue.record("not a drop"); return
        }
        #expect(machine.readyConnection == nil)
        guard case .wait(startResolving: false) = machine.connectionRequested() else { Issue.record("did not wait"); return }
        let reconnects = machine.reconnectTimerFired()
        #expect(reconnects)
        let started = machine.resolved("c2")
        #expect(started)
        guard case .handOut("c2", isReconnection: true) = machine.connectionReady() else { Issue.record("not a reconnection"); return }
    }

    @Test func closeFreesTheContextOnceAndRefusesEverythingAfter() {
        var machine = ready()
        guard case .closeConnection("c1") = machine.closeRequested() else { Issue.record("nothing to free"); return }
        guard case .waitForClose = machine.closeRequested() else { Issue.record("closed twice"); return }
        guard case .fail(.closed) = machine.connectionRequested() else { Issue.record("used while closing"); return }
        guard case .closeCompleted = machine.connectionClosed(.closed) else { Issue.record("close not completed"); return }
        guard case .completeNow(failWaiters: false, cancelReconnectTimer: false) = machine.closeRequested() else {
            Issue.record("closed again"); return
        }
        let startsResolving = machine.startRequested()
        #expect(startsResolving == false)
    }

    @Test func closingWhileWaitingToReconnectStopsTheTimerAndTheTimerThenDoesNothing() {
        var machine = ready()
        _ = machine.connectionClosed(.connectionLost("eof"))
        guard case .completeNow(failWaiters: true, cancelReconnectTimer: true) = machine.closeRequested() else {
            Issue.record("timer left running"); return
        }
        let reconnects = machine.reconnectTimerFired()
        #expect(reconnects == false)
        let started = machine.resolved("late")
        #expect(started == false)
    }

    @Test func aResolutionThatEndsAfterCloseStartsNothing() {
        var machine = Machine()
        _ = machine.connectionRequested()
        guard case .completeNow(failWaiters: true, cancelReconnectTimer: false) = machine.closeRequested() else {
            Issue.record("waiters kept"); return
        }
        let started = machine.resolved("late")
        #expect(started == false)
        let failure = machine.resolveFailed(.connectionFailed("dns"))
        #expect(failure == nil)
    }

    @Test func backoffDoublesUpToTheMaximumWithAtMostAQuarterOfJitter() {
        let backoff = ReconnectBackoff(initialDelay: .milliseconds(100), maximumDelay: .seconds(1))
        #expect(backoff.delay(afterFailedAttempts: 0, jitter: 0) == .milliseconds(100))
        #expect(backoff.delay(afterFailedAttempts: 2, jitter: 0) == .milliseconds(400))
        #expect(backoff.delay(afterFailedAttempts: 2, jitter: 1) == .milliseconds(500))
        #expect(backoff.delay(afterFailedAttempts: 60, jitter: 0) == .seconds(1))
    }
}
