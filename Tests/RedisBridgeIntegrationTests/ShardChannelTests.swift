import Foundation
import Testing

@testable import RedisBridge
@testable import RedisTestSupport

/// Sharded pub/sub on a real cluster of three primaries with replicas: each shard channel on the primary that
/// serves its slot, following it through a migration and a failover.
@Suite("Redis Cluster: shard channels", .enabled(if: !usesExternalRedis, "starts a cluster of its own"), .timeLimit(.minutes(1)))
struct ShardChannelTests {
    /// `count` channel names, each with its own hash tag, so that they spread over the slots.
    private func channels(_ count: Int) -> [String] {
        let run = UUID().uuidString.prefix(8)
        return (0..<count).map { "{\(run)-\($0)}:chunks" }
    }

    /// The shard channels a node serves subscribers of.
    private func shardChannels(on node: RedisServer) async throws -> Set<String> {
        Set(try await node.cli(["PUBSUB", "SHARDCHANNELS"]).split(separator: "\n").map(String.init))
    }

    @Test func shardChannelsLiveOnThePrimaryOfTheirSlotAndEveryMessageArrives() async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        try await withConnections(try RedisConfiguration(url: cluster.url)) { commands, subscriber in
            let names = channels(30)
            var subscriptions: [RedisSubscription.AsyncIterator] = []
            for name in names { subscriptions.append(try await subscriber.subscribe(toShardChannel: name).makeAsyncIterator()) }
            #expect(await subscriber.channelCount == 30)
            // Each channel is subscribed on the primary that serves its slot, and nowhere else.
            let primaries = try await cluster.primaries()
            for primary in primaries {
                let served = try await shardChannels(on: primary)
                var expected: Set<String> = []
                for name in names where try await cluster.owner(of: HashSlot.of(name)).port == primary.port { expected.insert(name) }
                #expect(served == expected, "primary \(primary.port)")
                #expect(!expected.isEmpty, "no channel on primary \(primary.port): the test shows no spread")
            }
            // SPUBLISH goes to the slot's primary, which counts the one subscriber; every message arrives.
            for (index, name) in names.enumerated() {
                #expect(try await commands.publish("message \(index)", toShardChannel: name) == 1)
            }
            for index in subscriptions.indices {
                #expect(await subscriptions[index].next() == .message(Array("message \(index)".utf8)))
            }
            // A classic channel on the same subscriber connection still works beside them.
            let classic = try await subscriber.subscribe(to: "classic-\(names[0])")
            var classicEvents = classic.makeAsyncIterator()
            #expect(try await commands.publish("classic", to: "classic-\(names[0])") == 1)
            #expect(await classicEvents.next() == .message(Array("classic".utf8)))
        }
    }

    /// A migrated slot: the old owner unsubscribes the channel, the subscription says messages may have been lost
    /// (`resubscribed`), and it receives what is published on the new owner.
    @Test func aShardChannelFollowsItsSlotThroughAMigration() async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        try await withConnections(try RedisConfiguration(url: cluster.url)) { commands, subscriber in
            let name = channels(1)[0]
            let slot = HashSlot.of(name)
            var events = try await subscriber.subscribe(toShardChannel: name).makeAsyncIterator()
            #expect(try await commands.publish("before", toShardChannel: name) == 1)
            #expect(await events.next() == .message(Array("before".utf8)))
            let source = try await cluster.owner(of: slot)
            let target = try #require(try await cluster.primaries().first { $0.port != source.port })
            try await cluster.beginMigration(of: slot, to: target)
            try await cluster.finishMigration(of: slot, to: target)
            #expect(await events.next() == .resubscribed)
            #expect(try await shardChannels(on: target) == [name])
            #expect(try await shardChannels(on: source).isEmpty)
            #expect(try await commands.publish("after", toShardChannel: name) == 1)
            #expect(await events.next() == .message(Array("after".utf8)))
        }
    }

    /// The primary of a channel's slot is killed: once its replica is promoted, the channel is subscribed there.
    @Test func aShardChannelFollowsItsSlotToThePromotedReplica() async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        var configuration = try RedisConfiguration(url: cluster.url)
        configuration.connectTimeout = .milliseconds(500)
        try await withConnections(configuration) { commands, subscriber in
            // A channel on a primary that is not the first seed (the seed answers CLUSTER SLOTS).
            let victim = try #require(try await cluster.primaries().first { $0.port != cluster.nodes[0].port })
            var name = ""
            for candidate in channels(200) where try await cluster.owner(of: HashSlot.of(candidate)).port == victim.port {
                name = candidate
                break
            }
            try #require(!name.isEmpty)
            var events = try await subscriber.subscribe(toShardChannel: name).makeAsyncIterator()
            #expect(try await commands.publish("before", toShardChannel: name) == 1)
            #expect(await events.next() == .message(Array("before".utf8)))
            try await victim.kill()
            #expect(await events.next() == .resubscribed)
            let promoted = try await cluster.owner(of: HashSlot.of(name))
            #expect(promoted.port != victim.port)
            #expect(try await shardChannels(on: promoted) == [name])
            #expect(await eventually(within: .seconds(10)) { (try? await commands.publish("after", toShardChannel: name)) == 1 })
            #expect(await events.next() == .message(Array("after".utf8)))
        }
    }
}
