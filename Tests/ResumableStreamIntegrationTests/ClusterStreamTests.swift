import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// Streams on a real Redis Cluster (three primaries, three replicas): keys on every primary, a resume served
/// by another process, a TypeScript producer with a braced id, a slot migrated mid-stream, and a primary killed
/// mid-stream; with classic pub/sub, and with shard channels (`sharded_pubsub=yes`).
@Suite("Streams on a Redis Cluster", .serialized, .enabled(if: !usesExternalRedis, "starts a cluster of its own"), .timeLimit(.minutes(1)))
struct ClusterStreamTests {
    private func context(_ cluster: ClusterGroup, prefix: String, shardedPubSub: Bool = false) throws -> ResumableStreamContext {
        var redis = try RedisConfiguration(url: url(of: cluster, shardedPubSub: shardedPubSub))
        redis.connectTimeout = .milliseconds(500)
        return ResumableStreamContext(
            redis: redis, configuration: .init(keyPrefix: prefix, ackTimeout: handshakePatience, watchdogInterval: .milliseconds(500)))
    }

    private func url(of cluster: ClusterGroup, shardedPubSub: Bool) -> String {
        shardedPubSub ? cluster.url + "?sharded_pubsub=yes" : cluster.url
    }

    @Test(arguments: [false, true])
    func streamsLandOnEveryPrimaryAndAnotherProcessResumesThem(shardedPubSub: Bool) async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        let prefix = testPrefix()
        let producing = try context(cluster, prefix: prefix, shardedPubSub: shardedPubSub)
        let following = try context(cluster, prefix: prefix, shardedPubSub: shardedPubSub)
        let writers = (0..<30).map { _ in Writer() }
        var producers: [ResumableTextStream] = []
        var followers: [ResumableTextStream] = []
        for (index, writer) in writers.enumerated() {
            producers.append(try await producing.resumableStream("chat-\(index)", makeStream: writer.source).created())
            followers.append(try await following.resumeExistingStream("chat-\(index)").resumed())
        }
        // Another process (rstream) resumes one of them half way.
        let text = (0..<50).map { "token \($0) · " }
        for writer in writers { writer.write(text[..<25].joined()) }
        let resumedElsewhere = Task {
            try await rstream(["resume", "chat-7", "--redis", url(of: cluster, shardedPubSub: shardedPubSub)], prefix: prefix)
        }
        try await Task.sleep(for: .milliseconds(300))
        if shardedPubSub {
            // Pub/sub is spread as the keys are: each primary serves the channels of its streams, and nobody
            // uses classic pub/sub.
            for primary in try await cluster.primaries() {
                let channels = try await primary.cli(["PUBSUB", "SHARDCHANNELS", "\(prefix):rs:*"]).split(separator: "\n")
                #expect(channels.count >= 10, "primary \(primary.port) serves \(channels.count) shard channels")
                for channel in channels {
                    let owner = try await cluster.owner(of: HashSlot.of(channel))
                    #expect(owner.port == primary.port, "\(channel) on \(primary.port), its slot on \(owner.port)")
                    // A follower's channel carries its stream's hash tag: it lives beside the stream's keys.
                    if channel.contains(":rs:chunk:") { #expect(channel.contains(":rs:chunk:{chat-"), "\(channel)") }
                }
                #expect(try await primary.cli(["PUBSUB", "CHANNELS", "\(prefix):*"]).isEmpty)
            }
            // The producer-liveness check asks the node of the request channel's slot (PUBSUB SHARDNUMSUB).
            #expect(try await following.publisher.subscriberCount(of: "\(prefix):rs:request:{chat-0}") == 1)
        }
        for writer in writers {
            writer.write(text[25...].joined())
            writer.close()
        }
        for stream in producers + followers { #expect(try await stream.collect() == text.joined()) }
        let other = try await resumedElsewhere.value
        #expect(other.status == 0 && other.output == text.joined(), "\(other.error)")
        // The streams' keys (`P:sentinel:{id}`, DONE now) are spread over the three primaries.
        for primary in try await cluster.primaries() {
            let keys = try await primary.cli(["--scan", "--pattern", "\(prefix):rs:sentinel:*"]).split(separator: "\n")
            #expect(!keys.isEmpty, "primary \(primary.port) holds no stream")
            #expect(keys.allSatisfy { $0.hasSuffix("}") && $0.contains(":{chat-") })
        }

        // A TypeScript producer on the cluster writes its stream id with braces, `{ts-chat}`: its keys and request
        // channel are the ones a Swift consumer of `ts-chat` uses there. Spoken by hand, as the TypeScript package
        // does: INCR the sentinel, listen for requests, answer on the listener's channel. (Classic pub/sub only:
        // TypeScript speaks no shard channels.)
        if !shardedPubSub {
            try await withConnections(try RedisConfiguration(url: cluster.url)) { commands, subscriber in
                #expect(try await commands.incr("\(prefix):rs:sentinel:{ts-chat}") == 1)
                let requests = try await subscriber.subscribe(to: "\(prefix):rs:request:{ts-chat}")
                var incoming = requests.makeAsyncIterator()
                async let consumer = following.resumeExistingStream("ts-chat")
                guard case .message(let bytes) = await incoming.next() else {
                    Issue.record("no request")
                    return
                }
                let listener = String(String(decoding: bytes, as: UTF8.self).dropFirst(15).prefix(36))
                _ = try await commands.publish("from TypeScript", to: "\(prefix):rs:chunk:\(listener)")
                _ = try await commands.publish(WireProtocol.doneMessage, to: "\(prefix):rs:chunk:\(listener)")
                #expect(try await consumer.resumed().collect() == "from TypeScript")
            }
        }
        await producing.shutdown(gracePeriod: .seconds(5))
        await following.shutdown(gracePeriod: .seconds(5))
    }

    @Test(arguments: [false, true])
    func aSlotMigratedMidStreamIsFollowedThroughAskAndMoved(shardedPubSub: Bool) async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        let context = try context(cluster, prefix: testPrefix(), shardedPubSub: shardedPubSub)
        let slot = HashSlot.of("{migrating}")
        let source = try await cluster.owner(of: slot)
        let target = try #require(try await cluster.primaries().first { $0.port != source.port })

        let writer = Writer()
        let producer = try await context.resumableStream("migrating", makeStream: writer.source).created()
        writer.write("before the migration · ")
        try await cluster.beginMigration(of: slot, to: target)
        try await cluster.moveKeys(of: slot, to: target)
        // The keys are on the target, the slot still on the source: the source answers ASK. A resume reads the
        // sentinel, and the end writes it with the fenced script, both through ASKING on the target.
        let follower = try await context.resumeExistingStream("migrating").resumed()
        writer.write("during · ")
        try await cluster.finishMigration(of: slot, to: target)
        writer.write("after")
        writer.close()
        let expected = "before the migration · during · after"
        #expect(try await producer.collect() == expected)
        #expect(try await follower.collect() == expected)
        if shardedPubSub {
            // The lingering producer's request channel moved with its slot.
            let requests = "\(context.configuration.keyPrefix):rs:request:{migrating}"
            #expect(try await target.cli(["PUBSUB", "SHARDCHANNELS", requests]) == requests)
        }
        // The end was recorded on the slot's new owner (MOVED taught the router where it is).
        #expect(
            await eventually {
                (try? await target.cli(["GET", "\(context.configuration.keyPrefix):rs:sentinel:{migrating}"])) == "DONE"
            })
        #expect(try await context.resumeExistingStream("migrating").isAlreadyDone)
        await context.shutdown(gracePeriod: .seconds(5))
    }

    @Test(arguments: [false, true])
    func killingAPrimaryMidStreamLosesNothingSilentlyAndItsReplicaTakesOver(shardedPubSub: Bool) async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        let context = try context(cluster, prefix: testPrefix(), shardedPubSub: shardedPubSub)
        // Ten streams, and an eleventh id for after the failover, in slots of a primary that is not the seed
        // where pub/sub runs (killing that one is the Redis restart the fault tests cover).
        let victim = try #require(try await cluster.primaries().first { $0.port != cluster.nodes[0].port })
        var ids: [String] = []
        var index = 0
        while ids.count < 11 {
            if try await cluster.owner(of: HashSlot.of("{s\(index)}")).port == victim.port { ids.append("s\(index)") }
            index += 1
        }
        let freshID = ids.removeLast()
        var streams = try await StreamsWithFollowers(ids, on: context)
        streams.write((0..<20).map { "before \($0) · " }.joined())
        try await Task.sleep(for: .milliseconds(200))

        try await victim.kill()
        let killed = ContinuousClock.now
        streams.write((0..<20).map { "after \($0) · " }.joined())
        // A new stream in one of the dead primary's slots works once its replica is promoted.
        let elapsed = await timeUntilNewStreamsWork(on: context, id: freshID, since: killed, within: .seconds(20))
        print("cluster: a new stream was created \(elapsed.map { "\($0)" } ?? "never") after SIGKILL of a primary (node timeout 1 s)")
        #expect(elapsed != nil)
        #expect(try await cluster.owner(of: HashSlot.of("{\(freshID)}")).port != victim.port)
        await streams.closeAndCheck()
        await context.shutdown(gracePeriod: .seconds(5))
        #expect(context.activeProducerCount == 0)
    }

    /// Shard channels under both faults at once: 30 streams with followers over the three primaries, the slot of
    /// one of them migrated mid-stream, then another primary killed mid-stream. Every producer's reader gets every
    /// byte, every follower every byte or a clear error after an exact prefix.
    @Test func thirtyStreamsOnShardChannelsRideOutAMigrationAndAKilledPrimary() async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        let context = try context(cluster, prefix: testPrefix(), shardedPubSub: true)
        let ids = (0..<30).map { "mixed-\($0)" }
        var owners: Set<Int> = []
        for id in ids { owners.insert(try await cluster.owner(of: HashSlot.of("{\(id)}")).port) }
        #expect(owners.count == 3, "the streams are not on every primary")
        var streams = try await StreamsWithFollowers(ids, on: context)
        streams.write((0..<20).map { "before \($0) · " }.joined())
        try await Task.sleep(for: .milliseconds(200))

        let slot = HashSlot.of("{mixed-0}")
        let source = try await cluster.owner(of: slot)
        let target = try #require(try await cluster.primaries().first { $0.port != source.port })
        try await cluster.beginMigration(of: slot, to: target)
        try await cluster.moveKeys(of: slot, to: target)
        try await cluster.finishMigration(of: slot, to: target)
        streams.write((0..<20).map { "during \($0) · " }.joined())
        try await Task.sleep(for: .milliseconds(200))

        let victim = try #require(try await cluster.primaries().first { $0.port != cluster.nodes[0].port && $0.port != target.port })
        try await victim.kill()
        streams.write((0..<20).map { "after \($0) · " }.joined())
        await streams.closeAndCheck()
        await context.shutdown(gracePeriod: .seconds(5))
        #expect(context.activeProducerCount == 0)
    }

    /// `PUBLISH` on a cluster counts the receivers of the node it ran on only. A TypeScript consumer whose
    /// cluster client subscribed through another node than this process's pub/sub node gets every chunk and
    /// the end, not the replay and then nothing.
    @Test func aConsumerSubscribedThroughAnotherNodeIsNotTakenForGone() async throws {
        let cluster = try await ClusterGroup.start()
        defer { cluster.stop() }
        let prefix = testPrefix()
        let context = try context(cluster, prefix: prefix)
        let writer = Writer()
        let producer = try await context.resumableStream("far", makeStream: writer.source).created()
        var own = producer.makeAsyncIterator()
        writer.write("one · ")
        #expect(try await own.next() == "one · ")
        let elsewhere = try #require(cluster.nodes.last)
        #expect(elsewhere.port != cluster.nodes[0].port)
        let received = try await withConnections(try RedisConfiguration(url: elsewhere.url)) { commands, subscriber in
            let messages = try await subscriber.subscribe(to: "\(prefix):rs:chunk:far-listener")
            let request = RequestMessage.encodeResume(listenerID: "far-listener", skipCharacters: nil)
            _ = try await commands.publish(request, to: "\(prefix):rs:request:{far}")
            var received: [String] = []
            // Before the fix the chunks after the replay never came: the suite's time limit ends the wait.
            for await case .message(let bytes) in messages {
                received.append(String(decoding: bytes, as: UTF8.self))
                if received.count == 1 {
                    for chunk in ["two · ", "three · ", "four"] { writer.write(chunk) }
                    writer.close()
                }
                if received.last == WireProtocol.doneMessage { break }
            }
            return received
        }
        #expect(received.last == WireProtocol.doneMessage)
        #expect(received.dropLast().joined() == "one · two · three · four")
        while try await own.next() != nil {}
        await context.shutdown(gracePeriod: .seconds(5))
    }
}
