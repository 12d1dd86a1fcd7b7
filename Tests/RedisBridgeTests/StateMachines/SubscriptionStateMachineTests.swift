import Testing

@testable import RedisBridge

@Suite("Channel subscriptions lifecycle (no Redis)", .timeLimit(.minutes(1)))
struct SubscriptionStateMachineTests {
    private typealias Machine = SubscriptionStateMachine<String>

    /// A machine with `names` on `channel`, confirmed by Redis.
    private func active(_ names: [String], on channel: String = "ch") -> Machine {
        var machine = Machine()
        for (id, name) in names.enumerated() { _ = machine.add(name, id: id, to: channel, isConnectionReady: true) }
        let confirmation = machine.subscribed(channel)
        #expect(confirmation.confirm == names)
        return machine
    }

    @Test func oneSubscribePerChannelHoweverManySubscribers() {
        var machine = Machine()
        guard case .subscribe("ch") = machine.add("a", id: 0, to: "ch", isConnectionReady: true) else { Issue.record("no SUBSCRIBE"); return }
        guard case .wait = machine.add("b", id: 1, to: "ch", isConnectionReady: true) else { Issue.record("second SUBSCRIBE"); return }
        #expect(machine.receivers(of: "ch").isEmpty)
        let confirmation = machine.subscribed("ch")
        #expect(confirmation.confirm == ["a", "b"])
        guard case .confirm = machine.add("c", id: 2, to: "ch", isConnectionReady: true) else { Issue.record("not confirmed at once"); return }
        #expect(machine.receivers(of: "ch") == ["a", "b", "c"])
    }

    @Test func withoutAConnectionANewChannelWaitsAndIsSubscribedWhenReady() {
        var machine = Machine()
        guard case .startConnecting = machine.add("a", id: 0, to: "x", isConnectionReady: false) else { Issue.record("no connect"); return }
        _ = machine.add("b", id: 0, to: "y", isConnectionReady: false)
        let toSubscribe = machine.connectionReady()
        #expect(Set(toSubscribe) == ["x", "y"])
        let toSubscribeAgain = machine.connectionReady()
        #expect(toSubscribeAgain.isEmpty)
        #expect(machine.channels["x"]?.status == .subscribing)
    }

    @Test func theLastSubscriberLeavingUnsubscribesAndAnEarlierOneDoesNot() {
        var machine = active(["a", "b"])
        guard case .finish("a", unsubscribe: nil) = machine.remove(id: 0, from: "ch", isConnectionReady: true) else {
            Issue.record("unsubscribed early"); return
        }
        #expect(machine.receivers(of: "ch") == ["b"])
        guard case .finish("b", unsubscribe: "ch") = machine.remove(id: 1, from: "ch", isConnectionReady: true) else {
            Issue.record("no UNSUBSCRIBE"); return
        }
        guard case .none = machine.remove(id: 1, from: "ch", isConnectionReady: true) else { Issue.record("removed twice"); return }
        let resubscribe = machine.unsubscribed("ch", isConnectionReady: true)
        #expect(resubscribe == nil)
        #expect(machine.channels.isEmpty)
    }

    @Test func aSubscriberArrivingWhileUnsubscribingIsSubscribedAgainAfterTheConfirmation() {
        var machine = active(["a"])
        _ = machine.remove(id: 0, from: "ch", isConnectionReady: true)
        guard case .wait = machine.add("b", id: 1, to: "ch", isConnectionReady: true) else { Issue.record("sent during UNSUBSCRIBE"); return }
        let resubscribe = machine.unsubscribed("ch", isConnectionReady: true)
        #expect(resubscribe == "ch")
        let confirmation = machine.subscribed("ch")
        #expect(confirmation.confirm == ["b"])
    }

    @Test func everyoneLeavingWhileSubscribingUnsubscribesOnTheConfirmation() {
        var machine = Machine()
        _ = machine.add("a", id: 0, to: "ch", isConnectionReady: true)
        guard case .finish("a", unsubscribe: nil) = machine.remove(id: 0, from: "ch", isConnectionReady: true) else {
            Issue.record("UNSUBSCRIBE before the SUBSCRIBE was confirmed"); return
        }
        let confirmation = machine.subscribed("ch")
        #expect(confirmation.unsubscribe == "ch")
    }

    @Test func aReconnectionResubscribesAndTellsConfirmedSubscribersOfTheGap() {
        var machine = active(["a", "b"])
        _ = machine.add("c", id: 2, to: "other", isConnectionReady: false)
        _ = machine.connectionReady()
        let failed = machine.connectionLost()
        #expect(failed == ["c"])
        let toSubscribe = machine.connectionReady()
        #expect(toSubscribe == ["ch"])
        let resubscribed = machine.subscribed("ch")
        #expect(resubscribed.resubscribed == ["a", "b"] && resubscribed.confirm.isEmpty)
        #expect(machine.receivers(of: "ch") == ["a", "b"])
    }

    /// A server that accepts connections and never answers would otherwise hold a `subscribe` call forever:
    /// each reconnection would send `SUBSCRIBE` again and time out again.
    @Test func aDropFailsTheSubscribersStillWaitingForTheirConfirmation() {
        var machine = active(["a"])
        _ = machine.remove(id: 0, from: "ch", isConnectionReady: true)
        _ = machine.add("late", id: 1, to: "ch", isConnectionReady: true)  // joined during the UNSUBSCRIBE
        _ = machine.add("new", id: 2, to: "other", isConnectionReady: true)
        let failed = machine.connectionLost()
        #expect(Set(failed) == ["late", "new"])
        #expect(machine.channels.isEmpty)
    }

    @Test func aFailedAttemptFailsOnlyTheUnconfirmedSubscribers() {
        var machine = active(["a"])
        _ = machine.connectionLost()
        _ = machine.add("b", id: 1, to: "ch", isConnectionReady: false)
        _ = machine.add("c", id: 2, to: "new", isConnectionReady: false)
        let failed = machine.attemptFailed()
        #expect(Set(failed) == ["b", "c"])
        #expect(machine.channels["new"] == nil)
        #expect(machine.channels["ch"]?.members.map(\.subscriber) == ["a"])
    }

    @Test func aChannelBeingUnsubscribedWithNobodyLeftIsGoneAfterADrop() {
        var machine = active(["a"])
        _ = machine.remove(id: 0, from: "ch", isConnectionReady: true)
        let failed = machine.connectionLost()
        #expect(failed.isEmpty && machine.channels.isEmpty)
    }

    @Test func closeFinishesEveryoneAndRefusesNewSubscribers() {
        var machine = active(["a", "b"])
        _ = machine.add("c", id: 5, to: "other", isConnectionReady: false)
        let finished = machine.closeAll()
        #expect(Set(finished) == ["a", "b", "c"])
        guard case .finishClosed = machine.add("d", id: 6, to: "ch", isConnectionReady: true) else { Issue.record("added after close"); return }
        #expect(machine.channels.isEmpty)
    }

    /// A shard channel whose slot moved: its members leave one node's machine and join another's, where those
    /// that were confirmed are told of the move (messages may have been lost) and the others are confirmed.
    @Test func aMovedChannelTakesItsMembersToTheNodeThatServesIt() {
        var old = active(["a", "b"])
        _ = old.add("c", id: 2, to: "ch", isConnectionReady: true)  // confirmed at once: the channel is active
        _ = old.add("d", id: 3, to: "other", isConnectionReady: true)
        let members = old.removeChannel("ch")
        #expect(members.map(\.subscriber) == ["a", "b", "c"] && old.channels["ch"] == nil && old.channels["other"] != nil)

        var new = Machine()
        guard case .subscribe("ch") = new.adopt(members, to: "ch", isConnectionReady: true) else { Issue.record("no SSUBSCRIBE"); return }
        let confirmation = new.subscribed("ch")
        #expect(confirmation.resubscribed == ["a", "b", "c"] && confirmation.confirm.isEmpty)
        #expect(new.receivers(of: "ch") == ["a", "b", "c"])

        // Onto a channel already active there: unconfirmed members are confirmed, confirmed ones told at once.
        var unconfirmed = Machine()
        _ = unconfirmed.add("e", id: 4, to: "ch", isConnectionReady: true)
        guard case .active(let action) = new.adopt(unconfirmed.removeChannel("ch") + old.removeChannel("other"), to: "ch", isConnectionReady: true)
        else { Issue.record("not active"); return }
        #expect(action.confirm == ["e", "d"] && action.resubscribed.isEmpty)
        #expect(new.receivers(of: "ch") == ["a", "b", "c", "e", "d"])

        // Without a connection the channel waits for one; after close, members end.
        var waiting = Machine()
        guard case .startConnecting = waiting.adopt(members, to: "ch", isConnectionReady: false) else { Issue.record("no connect"); return }
        _ = waiting.closeAll()
        guard case .finishClosed(let ended) = waiting.adopt(members, to: "ch", isConnectionReady: true), ended.count == 3 else {
            Issue.record("adopted after close"); return
        }
    }
}
