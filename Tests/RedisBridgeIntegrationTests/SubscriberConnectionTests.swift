import RedisBridge
import RedisTestSupport
import Testing

@Suite("Subscriber connection against a real Redis", .timeLimit(.minutes(1)))
struct SubscriberConnectionTests {
    @Test func subscribeReturnsOnlyOnceTheServerConfirmed() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            let subscription = try await subscriber.subscribe(to: channel)
            // Confirmed means a message published right now is delivered.
            #expect(try await commands.publish("first", to: channel) == 1)
            var iterator = subscription.makeAsyncIterator()
            #expect(await iterator.next() == .message(Array("first".utf8)))
        }
    }

    /// Shard channels on one server (Redis 7): their own connection, beside the classic one; the same name on
    /// both is two channels, and each hears only its own kind of publish.
    @Test func shardChannelsWorkOnOneServerBesideClassicChannels() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            var shard = try await subscriber.subscribe(toShardChannel: channel).makeAsyncIterator()
            var classic = try await subscriber.subscribe(to: channel).makeAsyncIterator()
            #expect(await subscriber.channelCount == 2)
            #expect(try await commands.publish("sharded", toShardChannel: channel) == 1)
            #expect(try await commands.publish("classic", to: channel) == 1)
            #expect(await shard.next() == .message(Array("sharded".utf8)))
            #expect(await classic.next() == .message(Array("classic".utf8)))
            for index in 0..<1000 { commands.publishWithoutWaiting(String(index), to: channel, isShardChannel: true) }
            var received: [String] = []
            while received.count < 1000, case .message(let bytes)? = await shard.next() { received.append(String(decoding: bytes, as: UTF8.self)) }
            #expect(received == (0..<1000).map(String.init))
        }
    }

    /// After close(), a shard channel is refused as a classic one is: no connection is made for it.
    @Test func aClosedSubscriberRefusesShardChannels() async throws {
        let subscriber = RedisSubscriberConnection(configuration: try sharedConfiguration())
        await subscriber.close()
        await #expect(throws: RedisError.closed) { try await subscriber.subscribe(toShardChannel: uniqueName()) }
        await #expect(throws: RedisError.closed) { try await subscriber.subscribe(to: uniqueName()) }
        #expect(await subscriber.channelCount == 0)
    }

    /// Publishes taken on the executor keep their place among the caller's other publishes, and each channel's
    /// report comes.
    @Test func takenPublishesKeepTheirPlaceAndReportTheirReceivers() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let (channel, nobody) = (uniqueName(), uniqueName())
            let subscription = try await subscriber.subscribe(to: channel)
            let (reports, reported) = AsyncStream<String>.makeStream()
            commands.publishWithoutWaiting("1", to: channel)
            commands.publishWithoutWaiting {
                [
                    RedisPublication("2", toEach: [channel]),
                    RedisPublication("3", toEach: [channel, nobody]) { channel, receivers in
                        reported.yield("\(channel)=\((try? receivers.get()) ?? -1)")
                    },
                ]
            }
            commands.publishWithoutWaiting("4", to: channel)
            var received: [String] = []
            for await event in subscription {
                guard case .message(let payload) = event else { break }
                received.append(String(decoding: payload, as: UTF8.self))
                if received.count == 4 { break }
            }
            #expect(received == ["1", "2", "3", "4"])
            var iterator = reports.makeAsyncIterator()
            let (first, second) = (await iterator.next(), await iterator.next())
            #expect([first, second] == ["\(channel)=1", "\(nobody)=0"])
        }
    }

    @Test func hundredThousandMessagesArriveInOrder() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            let subscription = try await subscriber.subscribe(to: channel)
            let count = 100_000
            for index in 0..<count { commands.publishWithoutWaiting(String(index), to: channel) }
            var expected = 0
            for await event in subscription {
                guard case .message(let payload) = event else { Issue.record("unexpected \(event)"); break }
                #expect(String(decoding: payload, as: UTF8.self) == String(expected))
                expected += 1
                if expected == count { break }
            }
            #expect(expected == count)
        }
    }

    @Test func binaryMessagesArriveByteExact() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            let subscription = try await subscriber.subscribe(to: channel)
            let payload: [UInt8] = [0, 0xFF, 0xC3, 0x28, 0, 13, 10] + Array(0...255)
            _ = try await commands.send(["PUBLISH", .string(channel), .bytes(payload)])
            var iterator = subscription.makeAsyncIterator()
            #expect(await iterator.next() == .message(payload))
        }
    }

    @Test func localSubscribersShareOneServerSubscription() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            let second = try await subscriber.subscribe(to: channel)
            var secondIterator = second.makeAsyncIterator()
            do {
                let first = try await subscriber.subscribe(to: channel)
                #expect(try await subscriberCount(channel, via: commands) == 1)
                #expect(try await commands.publish("both", to: channel) == 1)
                var firstIterator = first.makeAsyncIterator()
                #expect(await firstIterator.next() == .message(Array("both".utf8)))
                #expect(await secondIterator.next() == .message(Array("both".utf8)))
            }
            // The first subscriber is gone; the server subscription stays for the second.
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await subscriberCount(channel, via: commands) == 1)
            #expect(try await commands.publish("still", to: channel) == 1)
            #expect(await secondIterator.next() == .message(Array("still".utf8)))
        }
    }

    @Test func droppingTheLastSubscriptionUnsubscribes() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            do {
                let subscription = try await subscriber.subscribe(to: channel)
                #expect(try await subscriberCount(channel, via: commands) == 1)
                _ = subscription
            }
            #expect(await eventually { (try? await subscriberCount(channel, via: commands)) == 0 })
            #expect(await eventually { await subscriber.channelCount == 0 })
        }
    }

    @Test func cancellingTheSubscribedTaskUnsubscribes() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            let task = Task {
                let subscription = try await subscriber.subscribe(to: channel)
                for await _ in subscription {}
            }
            #expect(await eventually { (try? await subscriberCount(channel, via: commands)) == 1 })
            task.cancel()
            _ = await task.result
            #expect(await eventually { (try? await subscriberCount(channel, via: commands)) == 0 })
            #expect(await eventually { await subscriber.channelCount == 0 })
        }
    }

    @Test func withSubscriptionUnsubscribesWhenTheBodyReturns() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            let received = try await subscriber.withSubscription(to: channel) { subscription in
                _ = try await commands.publish("hello", to: channel)
                var iterator = subscription.makeAsyncIterator()
                return await iterator.next()
            }
            #expect(received == .message(Array("hello".utf8)))
            #expect(await eventually { (try? await subscriberCount(channel, via: commands)) == 0 })
        }
    }

    @Test func resubscribingRightAfterUnsubscribingWorks() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            for round in 0..<20 {
                try await subscriber.withSubscription(to: channel) { subscription in
                    _ = try await commands.publish("round \(round)", to: channel)
                    var iterator = subscription.makeAsyncIterator()
                    #expect(await iterator.next() == .message(Array("round \(round)".utf8)))
                }
            }
            #expect(await eventually { (try? await subscriberCount(channel, via: commands)) == 0 })
        }
    }

    /// The callback form the follower relays use: every message in order, batch by batch, on the connection's
    /// queue; after the cancel, one `nil` and no more, and the server has no subscriber left.
    @Test func aCallbackSubscriptionGetsEveryMessageInOrderThenOneEndAtItsCancel() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let channel = uniqueName()
            let received = Locked<(messages: [String], ends: Int)>(([], 0))
            let subscription = try await subscriber.subscribe(to: channel, isShardChannel: false) { events in
                received.withLock { received in
                    guard let events else { return received.ends += 1 }
                    for case .message(let payload) in events { received.messages.append(String(decoding: payload, as: UTF8.self)) }
                }
            }
            let count = 10_000
            for index in 0..<count { commands.publishWithoutWaiting(String(index), to: channel) }
            #expect(await eventually { received.withLock(\.messages.count) == count })
            #expect(received.withLock(\.messages) == (0..<count).map(String.init))
            subscription.cancel()
            subscription.cancel()
            #expect(await eventually { (try? await subscriberCount(channel, via: commands)) == 0 })
            #expect(await eventually { await subscriber.channelCount == 0 })
            #expect(received.withLock(\.ends) == 1)
            #expect(try await commands.publish("after", to: channel) == 0)
            #expect(received.withLock(\.messages.count) == count)
        }
    }

    /// A subscription that never began (Redis cannot be reached) throws, and its receiver hears nothing: a
    /// `nil` would tell it that an active subscription ended.
    @Test func aCallbackSubscriptionThatNeverBeganCallsNothing() async throws {
        let subscriber = RedisSubscriberConnection(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(try RedisServer.freePort())"))
        let calls = Locked(0)
        await #expect(throws: RedisError.self) {
            _ = try await subscriber.subscribe(to: uniqueName(), isShardChannel: false) { _ in calls.withLock { $0 += 1 } }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(calls.withLock { $0 } == 0)
        await subscriber.close()
    }

    @Test func closeEndsACallbackSubscriptionOnce() async throws {
        let subscriber = RedisSubscriberConnection(configuration: try sharedConfiguration())
        let ends = Locked(0)
        let subscription = try await subscriber.subscribe(to: uniqueName(), isShardChannel: false) { events in
            if events == nil { ends.withLock { $0 += 1 } }
        }
        await subscriber.close()
        subscription.cancel()
        #expect(await eventually { ends.withLock { $0 } == 1 })
        #expect(ends.withLock { $0 } == 1)
    }

    @Test func closeEndsEverySubscription() async throws {
        let configuration = try sharedConfiguration()
        let subscriber = RedisSubscriberConnection(configuration: configuration)
        let subscription = try await subscriber.subscribe(to: uniqueName())
        await subscriber.close()
        var iterator = subscription.makeAsyncIterator()
        #expect(await iterator.next() == nil)
        await #expect(throws: RedisError.closed) { try await subscriber.subscribe(to: uniqueName()) }
    }
}
