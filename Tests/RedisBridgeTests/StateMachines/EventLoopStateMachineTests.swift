import Testing

@testable import RedisBridge

@Suite("hiredis event hooks on dispatch sources (no Redis)", .timeLimit(.minutes(1)))
struct EventLoopStateMachineTests {
    @Test func repeatedReadHooksResumeAndSuspendTheSourceOnce() {
        var sources = EventLoopStateMachine()
        let first = sources.readRequested()
        let again = sources.readRequested()
        #expect(first == .resume && again == .none)
        let stopped = sources.readStopped()
        let stoppedAgain = sources.readStopped()
        #expect(stopped == .suspend && stoppedAgain == .none)
    }

    @Test func connectedWritesAreCoalescedIntoOneFlush() {
        var sources = EventLoopStateMachine()
        let first = sources.writeRequested(isConnected: true)
        let second = sources.writeRequested(isConnected: true)
        #expect(first == .scheduleFlush && second == .none)
        let flushes = sources.flushStarted()
        #expect(flushes)
        sources.flushEnded()
        let next = sources.writeRequested(isConnected: true)
        #expect(next == .scheduleFlush)
    }

    @Test func connectingOrAShortWriteWaitsForTheSocket() {
        var connecting = EventLoopStateMachine()
        let whileConnecting = connecting.writeRequested(isConnected: false)
        let repeated = connecting.writeRequested(isConnected: false)
        #expect(whileConnecting == .resumeWriteSource && repeated == .none)
        #expect(connecting.isWriteSourceActive)

        var shortWrite = EventLoopStateMachine()
        _ = shortWrite.writeRequested(isConnected: true)
        _ = shortWrite.flushStarted()
        // hiredis asks again from inside the flush: the socket took less than everything.
        let duringFlush = shortWrite.writeRequested(isConnected: true)
        #expect(duringFlush == .resumeWriteSource)
        shortWrite.flushEnded()
        let stopped = shortWrite.writeStopped()
        #expect(stopped == .suspend && !shortWrite.isWriteSourceActive)
    }

    @Test func aScheduledFlushDoesNothingOnceTheWriteSourceTookOver() {
        var waiting = EventLoopStateMachine()
        _ = waiting.writeRequested(isConnected: false)
        let flushes = waiting.flushStarted()
        #expect(!flushes)
    }

    @Test func tearDownResumesOnlySuspendedSourcesAndEverythingAfterIsIgnored() {
        var sources = EventLoopStateMachine()
        _ = sources.readRequested()
        let resume = sources.tornDown()
        #expect(resume.resumeReadSource == false && resume.resumeWriteSource == true)
        let read = sources.readRequested()
        let write = sources.writeRequested(isConnected: true)
        let stopRead = sources.readStopped()
        let flushes = sources.flushStarted()
        #expect(read == .none && write == .none && stopRead == .none && !flushes)
    }
}

@Suite("What a connection sends and awaits (no Redis)", .timeLimit(.minutes(1)))
struct ConnectionBookkeepingTests {
    @Test func theHandshakeAuthenticatesThenSelects() throws {
        let plain = ConnectionHandshake(try RedisConfiguration(url: "redis://localhost:6379"))
        #expect(plain.steps.isEmpty)
        let full = ConnectionHandshake(try RedisConfiguration(url: "redis://app:s3cret@localhost:6379/4"))
        #expect(full.steps.map(\.command) == [["AUTH", "app", "s3cret"], ["SELECT", "4"]])
        #expect(full.steps.map(\.isAuthentication) == [true, false])
        let refused = ConnectionHandshake.failure(of: full.steps[0], .server("WRONGPASS invalid"))
        #expect(refused == .authenticationFailed("WRONGPASS invalid"))
        #expect(ConnectionHandshake.failure(of: full.steps[1], .server("ERR DB index")) == .server("ERR DB index"))
    }

    @Test func silenceCountsOnlyWhileSomethingIsAwaited() {
        var awaited = AwaitedReplies()
        let second: UInt64 = 1_000_000_000
        #expect(!awaited.isOverdue(now: 100 * second, timeout: .seconds(1)))
        awaited.append(.discard, now: 10 * second)
        awaited.append(.discard, now: 11 * second)  // still measured from the first
        #expect(!awaited.isOverdue(now: 11 * second, timeout: .seconds(1)))
        #expect(awaited.isOverdue(now: 11 * second + 1, timeout: .seconds(1)))
        awaited.progressed(now: 11 * second)
        #expect(!awaited.isOverdue(now: 11 * second + 1, timeout: .seconds(1)))
        _ = awaited.popFirst()
        _ = awaited.popFirst()
        #expect(!awaited.isWaiting && awaited.popFirst() == nil)
        awaited.subscriptionSent(.subscribe, channels: ["a", "b"], now: 20 * second)
        _ = awaited.confirmationReceived(.subscribe, channel: "a")
        #expect(awaited.isOverdue(now: 22 * second, timeout: .seconds(1)))
        _ = awaited.confirmationReceived(.subscribe, channel: "b")
        #expect(!awaited.isWaiting)
    }

    @Test func subscriptionConfirmationsAndRefusalsAreMatchedToTheCommandsInOrder() {
        var awaited = AwaitedReplies()
        awaited.subscriptionSent(.shardSubscribe, channels: ["{a}x"], now: 0)
        awaited.subscriptionSent(.shardSubscribe, channels: ["{b}y"], now: 0)
        awaited.subscriptionSent(.shardUnsubscribe, channels: ["{c}z"], now: 0)
        let first = awaited.confirmationReceived(.shardSubscribe, channel: "{a}x")
        // The second was refused (MOVED): its error names no channel, the order does.
        let refused = awaited.subscriptionRefused(redirectedSlot: HashSlot.of("{b}y"))
        // A sunsubscribe nobody asked for (a slot moved away) is told apart from the one asked for.
        let unasked = awaited.confirmationReceived(.shardUnsubscribe, channel: "{d}w")
        let asked = awaited.confirmationReceived(.shardUnsubscribe, channel: "{c}z")
        #expect(first && refused == ["{b}y"] && !unasked && asked)
        let nothingLeft = awaited.subscriptionRefused(redirectedSlot: nil)
        #expect(!awaited.isWaiting && nothingLeft.isEmpty)
        // A node gave "{c}"'s slot away: its own sunsubscribe came first, then it refuses our SUNSUBSCRIBE with
        // MOVED, which must not be taken for the refusal of the next command.
        awaited.subscriptionSent(.shardUnsubscribe, channels: ["{c}z"], now: 0)
        awaited.subscriptionSent(.shardSubscribe, channels: ["{e}v"], now: 0)
        let early = awaited.confirmationReceived(.shardUnsubscribe, channel: "{c}z")
        let crossed = awaited.subscriptionRefused(redirectedSlot: HashSlot.of("{c}z"))
        let next = awaited.confirmationReceived(.shardSubscribe, channel: "{e}v")
        #expect(early && crossed.isEmpty && next && !awaited.isWaiting)
    }

    @Test func repliesAreMatchedInOrderAndTheRestFailWhenTheConnectionGoes() {
        var awaited = AwaitedReplies()
        var order: [Int] = []
        for index in 0..<3 { awaited.append(.callback { _ in order.append(index) }, now: 0) }
        awaited.popFirst()?.complete(.success(.null))
        for reply in awaited.removeAll() { reply.complete(.failure(.closed)) }
        #expect(order == [0, 1, 2])
        #expect(!awaited.isWaiting)
    }
}
