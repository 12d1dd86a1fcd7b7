import Foundation
import Testing

@testable import RedisBridge
@testable import RedisTestSupport

@Suite("Redis Cluster: slots and redirects")
struct HashSlotTests {
    @Test func slotsAreRedisCRC16WithHashTags() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        #expect(HashSlot.of("123456789") == 0x31C3 % 16384)
        #expect(HashSlot.of("foo") == 12182)
        #expect(HashSlot.of("bar") == 5061)
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("{user1000}.followers"))
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("user1000"))
        // An empty tag is no tag; only the first `{` counts.
        #expect(HashSlot.of("foo{}{bar}") == HashSlot.of("foo{}{bar}"))
        #expect(!HashSlot.hasHashTag("foo{}{bar}") && HashSlot.hasHashTag("foo{{bar}}"))
        #expect(HashSlot.of("foo{{bar}}zap") == HashSlot.of("{bar"))
    }

    @Test func redirectsParse() {
        #expect(ClusterRedirect("MOVED 3999 127.0.0.1:6381") == .moved(slot: 3999, to: RedisAddress(host: "127.0.0.1", port: 6381)))
        #expect(ClusterRedirect("ASK 3999 [::1]:6381") == .ask(slot: 3999, to: RedisAddress(host: "::1", port: 6381)))
        for other in ["ERR unknown", "MOVED 99999 h:1", "MOVED x h:1", "ASK 1 nohostport", "READONLY You can't write"] {
            #expect(ClusterRedirect(other) == nil, "\(other)")
        }
    }

    /// A port outside 1...65535 in a redirect or in `CLUSTER SLOTS` (a hostile node, or someone on the path)
    /// makes the reply unusable, never a connection to a truncated port or a trap.
    @Test func portsOutOfRangeInRedirectsAndSlotMapsAreRefused() {
        for port in ["0", "65536", "99999", "4294967296", "99999999999999999999", "-1"] {
            #expect(ClusterRedirect("MOVED 3999 127.0.0.1:\(port)") == nil, "MOVED to port \(port)")
            #expect(ClusterRedirect("ASK 3999 127.0.0.1:\(port)") == nil, "ASK to port \(port)")
        }
        let answering = RedisAddress(host: "127.0.0.1", port: 7000)
        for port in [0, 65536, Int(Int32.max) + 1, Int.max, -1] {
            var slots = SlotMap()
            let reply = RedisValue.array([.array([.integer(0), .integer(16383), .array([.bulkString(Array("10.0.0.1".utf8)), .integer(port)])])])
            let replaced = slots.replace(withClusterSlots: reply, answeredBy: answering)
            #expect(!replaced, "CLUSTER SLOTS with port \(port)")
            #expect(slots.owner(of: 0) == nil)
        }
    }

    @Test func commandsRouteByTheirFirstKey() {
        #expect(CommandKey.of(["SET", "k", "v"]) == Array("k".utf8))
        #expect(CommandKey.of(["EVAL", "return 1", "2", "a", "b"]) == Array("a".utf8))
        #expect(CommandKey.of(["EVAL", "return 1", "0"]) == nil)
        #expect(CommandKey.of(["PUBLISH", "channel", "m"]) == nil)
        #expect(CommandKey.of(["SPUBLISH", "{s}:chunk", "m"]) == Array("{s}:chunk".utf8))
        #expect(CommandKey.of(["PUBSUB", "SHARDNUMSUB", "{s}:chunk"]) == Array("{s}:chunk".utf8))
        #expect(CommandKey.of(["PUBSUB", "NUMSUB", "channel"]) == nil)
        #expect(CommandKey.of(["PING"]) == nil)
    }

    @Test func clusterURLsParse() throws {
        let configuration = try RedisConfiguration(url: "redis-cluster://:pw@10.0.0.1:7000,10.0.0.2")
        #expect(configuration.endpoint == .cluster(seeds: [RedisAddress(host: "10.0.0.1", port: 7000), RedisAddress(host: "10.0.0.2", port: 6379)]))
        #expect(configuration.password == "pw")
        #expect(configuration.description == "redis-cluster://:***@10.0.0.1:7000,10.0.0.2:6379")
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis-cluster://h1,h2/3") }
        let sharded = try RedisConfiguration(url: "redis-cluster://10.0.0.1:7000?sharded_pubsub=yes")
        #expect(sharded.shardedPubSub && !configuration.shardedPubSub)
        #expect(sharded.description == "redis-cluster://10.0.0.1:7000?sharded_pubsub=yes")
        #expect(try RedisConfiguration(url: sharded.description) == sharded)
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis-cluster://h1?sharded_pubsub=maybe") }
        #expect(HashSlot.hashTag(of: "p:rs:request:{chat-7}") == "{chat-7}" && HashSlot.hashTag(of: "p:rs:request:x") == nil)
    }
}

/// A real cluster of three primaries and three replicas.
@Suite("Redis Cluster: commands on a real cluster", .enabled(if: !usesExternalRedis, "starts a cluster of its own"), .timeLimit(.minutes(1)))
struct ClusterCommandTests {
    @Test func keysOnEverySlotRangeAndPublishesReachSubscribersOnAnyNode() async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        let configuration = try RedisConfiguration(url: cluster.url)
        try await withConnections(configuration) { commands, subscriber in
            // 300 keys spread over the slots: each set and read back through the right primary.
            let keys = (0..<300).map { "key-\($0)" }
            for key in keys { try await commands.set(key, to: "value of \(key)") }
            var allRead = true
            for key in keys where try await commands.get(key) != "value of \(key)" { allRead = false }
            #expect(allRead)
            // Each primary really holds its share.
            for primary in try await cluster.primaries() {
                let count = Int(try await primary.cli(["DBSIZE"])) ?? 0
                #expect(count > 50, "\(primary.port) holds \(count) keys")
            }
            // A script over keys sharing a hash tag runs on their slot's node.
            let script = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return redis.call('GET', KEYS[2])"
            #expect(try await commands.eval(script, keys: ["{tag}:a", "{tag}:b"], arguments: ["both"]).string == "both")
            // Classic pub/sub: a publish from the command connection reaches the subscriber.
            let channel = uniqueName()
            let subscription = try await subscriber.subscribe(to: channel)
            var events = subscription.makeAsyncIterator()
            #expect(try await commands.publish("hello", to: channel) == 1)
            #expect(await events.next() == .message(Array("hello".utf8)))
        }
    }

    /// After `close()` a command with a key fails with ``RedisError/closed`` instead of connecting again to its
    /// slot's primary (a connection nothing would ever close).
    @Test func aClosedConnectionFailsKeyedCommandsAndConnectsNowhere() async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        let primaries = try await cluster.primaries()
        /// The connections of normal clients (not replicas) to the primaries, not counting the redis-cli asking.
        func clients() async -> Int {
            var total = 0
            for primary in primaries {
                let list = (try? await primary.cli(["CLIENT", "LIST", "TYPE", "normal"])) ?? ""
                total += list.split(separator: "\n").filter { !$0.contains("cmd=client") }.count
            }
            return total
        }
        let commands = RedisCommandConnection(configuration: try RedisConfiguration(url: cluster.url))
        // Keys on every primary: the connection holds one connection per primary.
        for index in 0..<30 { try await commands.set("closed-\(index)", to: "before") }
        await commands.close()
        #expect(await eventually { await clients() == 0 })
        for index in 0..<30 {
            await #expect(throws: RedisError.closed) { try await commands.set("closed-\(index)", to: "after") }
        }
        await #expect(throws: RedisError.closed) { try await commands.publish("after", to: "closed") }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await clients() == 0, "a command after close() connected again")
    }

    /// Pub/sub runs on the first seed that answers, so that every instance meets on one node. With the first
    /// seed down, both connections take the next; once it answers again, both move back to it.
    @Test func pubSubMovesOnWithoutTheFirstSeedAndBackOnceItAnswers() async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        var configuration = try RedisConfiguration(url: cluster.url)
        configuration.connectTimeout = .milliseconds(500)
        let first = cluster.nodes[0]
        try await withConnections(configuration) { commands, subscriber in
            let channel = uniqueName()
            let subscription = try await subscriber.subscribe(to: channel)
            #expect(try await commands.publish("on the first seed", to: channel) == 1)
            try await first.kill()
            // Both connections move on to the next seed, together: the publish counts the subscriber there.
            #expect(await eventually(within: .seconds(10)) { (try? await commands.publish("moved on", to: channel)) == 1 })
            try await first.restart()
            // Within the probe interval both are back on the first seed.
            #expect(
                await eventually(within: .seconds(15)) {
                    let subscribers = (try? await first.query(["PUBSUB", "NUMSUB", channel]))?.split(separator: "\n").last
                    guard subscribers == "1" else { return false }
                    return (try? await commands.publish("back", to: channel)) == 1
                })
            _ = subscription
        }
    }
}
