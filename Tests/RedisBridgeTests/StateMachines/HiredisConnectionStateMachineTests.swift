import Testing

@testable import RedisBridge

@Suite("hiredis connection lifecycle (no Redis)", .timeLimit(.minutes(1)))
struct HiredisConnectionStateMachineTests {
    private typealias Machine = HiredisConnectionStateMachine<String, String>

    private func open(tunnel: String? = nil, ready: Bool) -> Machine {
        var machine = Machine()
        if let tunnel { machine.tunnelStarted(tunnel) }
        machine.contextOpened("ctx")
        if ready {
            let becameReady = machine.handshakeCompleted()
            #expect(becameReady)
        }
        return machine
    }

    @Test func commandsAreSentOnlyOnceTheHandshakeCompleted() {
        var machine = Machine()
        #expect(machine.link == nil && machine.readyLink == nil)
        #expect(machine.sendFailure == .closed)
        machine.contextOpened("ctx")
        #expect(machine.link == "ctx" && machine.readyLink == nil)
        let becameReady = machine.handshakeCompleted()
        #expect(becameReady)
        #expect(machine.readyLink == "ctx")
        let again = machine.handshakeCompleted()
        #expect(!again, "ready is reported once")
    }

    @Test func aTunnelIsHandedToTheContextAndClosedAtCleanup() {
        var machine = open(tunnel: "tunnel", ready: true)
        let (tunnel, error) = machine.cleanedUp(reason: "Connection reset by peer")
        #expect(tunnel == "tunnel")
        #expect(error == .connectionLost("Connection reset by peer"))
        #expect(machine.link == nil)
        #expect(machine.sendFailure == .connectionLost("Connection reset by peer"))
    }

    @Test func closingAReadyConnectionDisconnectsAfterThePendingReplies() {
        var machine = open(ready: true)
        guard case .disconnect("ctx") = machine.closeRequested() else { Issue.record("no disconnect"); return }
        #expect(machine.closeReason == .closed)
        #expect(machine.cleanedUp(reason: nil).error == .closed, "the close's reason, not hiredis's")
    }

    @Test func closingAConnectionStillInItsHandshakeFreesItAtOnce() {
        var machine = open(ready: false)
        guard case .scheduleFree = machine.closeRequested() else { Issue.record("not freed"); return }
        #expect(machine.link == "ctx", "the free happens on a later turn, with the context still there")
        let becameReady = machine.handshakeCompleted()
        #expect(!becameReady, "a handshake that completes after the close does not make it ready")
        #expect(machine.cleanedUp(reason: "freed").error == .closed)
    }

    @Test func theFirstReasonToEndWinsOverLaterOnesAndOverHiredis() {
        var machine = open(ready: true)
        guard case .scheduleFree = machine.abortRequested(.commandTimeout(.seconds(1))) else { Issue.record("not freed"); return }
        guard case .disconnect = machine.closeRequested() else { Issue.record("no disconnect"); return }
        guard case .scheduleFree = machine.abortRequested(.connectionLost("later")) else { Issue.record("not freed"); return }
        #expect(machine.sendFailure == .commandTimeout(.seconds(1)))
        #expect(machine.cleanedUp(reason: "Connection reset by peer").error == .commandTimeout(.seconds(1)))
    }

    @Test func aFailedConnectIsReportedWithHiredissReason() {
        var machine = open(ready: false)
        machine.connectFailed("Connection refused")
        machine.connectFailed("a later text")
        #expect(machine.cleanedUp(reason: nil).error == .connectionFailed("Connection refused"))
    }

    @Test func aContextThatClosesDuringTheHandshakeFailsTheAttemptNotALiveConnection() {
        var machine = open(ready: false)
        #expect(machine.cleanedUp(reason: nil).error == .connectionFailed("the connection closed during the handshake"))
        var ready = open(ready: true)
        #expect(ready.cleanedUp(reason: nil).error == .connectionLost("the server closed the connection"))
    }

    @Test func endingATunnelThatHasNoContextYetAbandonsIt() {
        var closed = Machine()
        closed.tunnelStarted("tunnel")
        guard case .abandon("tunnel", .closed) = closed.closeRequested() else { Issue.record("not abandoned"); return }
        guard case .none = closed.abortRequested(.closed) else { Issue.record("abandoned twice"); return }

        var failed = Machine()
        failed.tunnelStarted("tunnel")
        let refused = RedisError.tls("the server's certificate was refused")
        guard case .abandon("tunnel", refused) = failed.abortRequested(refused) else { Issue.record("not abandoned"); return }
        #expect(failed.link == nil && failed.sendFailure == refused)
    }

    @Test func anAttemptWithoutAContextReportsItsFirstReason() {
        var machine = Machine()
        #expect(machine.failedBeforeContext(.connectionFailed("no TLS context")) == .connectionFailed("no TLS context"))
        guard case .none = machine.abortRequested(.connectTimeout(.seconds(1))) else { Issue.record("ended twice"); return }

        var closedFirst = Machine()
        guard case .none = closedFirst.closeRequested() else { Issue.record("nothing to end"); return }
        #expect(closedFirst.failedBeforeContext(.connectionFailed("refused")) == .closed)
    }
}
