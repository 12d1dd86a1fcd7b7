import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// Swift followers of Swift producers get the exact text, with no error, through the faults that used to leave
/// holes or end them: the producer's command connection killed with publishes in flight, the followers'
/// subscriber connection killed mid-stream, and another stream's producer made to publish into their channel.
@Suite(
    "Gap-free followers of Swift producers", .enabled(if: !usesExternalRedis, "needs a redis-server whose clients it kills"), .timeLimit(.minutes(1)))
struct GapFreeTests {
    private let lines = (0..<3_000).map { "line \($0) of a stream that must arrive whole\n" }

    /// A producer in one context and `followers` in another (two instances sharing a Redis), each with its
    /// own connections, on a server of the test's own.
    private func withProducerAndFollowers(
        _ followers: Int,
        _ body: (RedisServer, Writer, [ResumableTextStream]) async throws -> Void
    ) async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        var redis = try RedisConfiguration(url: server.url)
        redis.reconnectInitialDelay = .milliseconds(10)
        let configuration = ResumableStreamConfiguration(keyPrefix: "gap-free", ackTimeout: handshakePatience, watchdogInterval: .seconds(1))
        let producing = ResumableStreamContext(redis: redis, configuration: configuration)
        let following = ResumableStreamContext(redis: redis, configuration: configuration)
        let writer = Writer()
        let own = try await producing.resumableStream("s", makeStream: writer.source).created()
        var streams: [ResumableTextStream] = []
        for _ in 0..<followers { streams.append(try await following.resumeExistingStream("s").resumed()) }
        try await body(server, writer, streams)
        #expect(try await own.collect() == lines.joined())
        await producing.shutdown(gracePeriod: .seconds(5))
        await following.shutdown(gracePeriod: .seconds(5))
    }

    /// Reads every follower to its end, from now on (before the faults), in tasks of their own.
    private func startReading(_ followers: [ResumableTextStream]) -> [Task<(text: String, error: (any Error)?), Never>] {
        followers.map { follower in Task { await readAll(follower) } }
    }

    /// Each reader got the producer's exact text and no error.
    private func expectExact(_ readers: [Task<(text: String, error: (any Error)?), Never>]) async {
        for reader in readers {
            let (text, error) = await reader.value
            #expect(error == nil, "\(String(describing: error))")
            #expect(text == lines.joined(), "\(text.count) of \(lines.joined().count) characters")
        }
    }

    /// Redis paused for writes holds the producer's PUBLISHes, then every command connection is killed: those
    /// publishes are lost for sure, while the followers' subscriber connection stays up and sees no gap.
    @Test func publishesLostWithTheProducersConnectionAreSentAgain() async throws {
        try await withProducerAndFollowers(3) { server, writer, followers in
            let readers = startReading(followers)
            for line in lines.prefix(1_000) { writer.write(line) }
            _ = try await server.cli(["CLIENT", "PAUSE", "200", "WRITE"])
            for line in lines[1_000..<2_000] { writer.write(line) }
            try await Task.sleep(for: .milliseconds(50))
            _ = try await server.cli(["CLIENT", "KILL", "TYPE", "normal"])
            for line in lines.suffix(1_000) { writer.write(line) }
            writer.close()
            await expectExact(readers)
        }
    }

    /// The subscriber connection of the followers is killed mid-stream: it re-subscribes, and each follower
    /// asks again from its own offset instead of ending with `interrupted`.
    @Test func aFollowerWhoseSubscriptionDroppedAsksAgainFromItsOffset() async throws {
        try await withProducerAndFollowers(3) { server, writer, followers in
            let readers = startReading(followers)
            for line in lines.prefix(1_500) { writer.write(line) }
            try await Task.sleep(for: .milliseconds(20))
            _ = try await server.cli(["CLIENT", "KILL", "TYPE", "pubsub"])
            for line in lines.suffix(1_500) { writer.write(line) }
            try await Task.sleep(for: .milliseconds(100))
            writer.close()
            await expectExact(readers)
        }
    }

    /// The followers' connections drop again and again (through a proxy that cuts them every 20 ms or so), so
    /// their re-subscriptions may fail too: each follower asks again until one holds, and reads on from its
    /// offset.
    @Test func aFollowerAsksAgainWhileItsConnectionsKeepDropping() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        let proxy = try FaultProxy(forwardingTo: server.port)
        defer { proxy.stop() }
        var redis = try RedisConfiguration(url: server.url)
        redis.reconnectInitialDelay = .milliseconds(10)
        redis.reconnectMaximumDelay = .milliseconds(20)
        var proxied = try RedisConfiguration(url: proxy.url)
        (proxied.reconnectInitialDelay, proxied.reconnectMaximumDelay) = (redis.reconnectInitialDelay, redis.reconnectMaximumDelay)
        let configuration = ResumableStreamConfiguration(keyPrefix: "gap-free", ackTimeout: .seconds(5), watchdogInterval: .seconds(1))
        let producing = ResumableStreamContext(redis: redis, configuration: configuration)
        let following = ResumableStreamContext(redis: proxied, configuration: configuration)
        let writer = Writer()
        let own = try await producing.resumableStream("s", makeStream: writer.source).created()
        let readers = startReading([
            try await following.resumeExistingStream("s").resumed(), try await following.resumeExistingStream("s").resumed(),
        ])
        // Three drops, text before each: fewer than the recoveries from one offset that end a follower (five)
        // even on a machine too slow for any text to arrive in between.
        for part in 0..<3 {
            for line in lines[(part * 1_000)..<(part * 1_000 + 1_000)] { writer.write(line) }
            try await Task.sleep(for: .milliseconds(20))
            proxy.inject(.dropAll)
        }
        writer.close()
        await expectExact(readers)
        #expect(try await own.collect() == lines.joined())
        await producing.shutdown(gracePeriod: .seconds(5))
        await following.shutdown(gracePeriod: .seconds(5))
    }

    /// Anyone who may publish on stream A's request channel and saw B's follower's listener id can make A's
    /// producer publish A's text into B's follower's channel. B's follower takes only frames of its own stream.
    @Test func anotherStreamsTextInjectedWithAForgedRequestIsIgnored() async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let configuration = ResumableStreamConfiguration(keyPrefix: testPrefix())
            let context = ResumableStreamContext(redis: try sharedConfiguration(), configuration: configuration)
            let (writerA, writerB) = (Writer(), Writer())
            _ = try await context.resumableStream("A", makeStream: writerA.source).created()
            _ = try await context.resumableStream("B", makeStream: writerB.source).created()
            let keysA = StreamKeys(keyPrefix: configuration.keyPrefix, streamID: "A")
            let keysB = StreamKeys(keyPrefix: configuration.keyPrefix, streamID: "B")
            writerA.write("A's secret text")
            writerB.write("B's ")

            // The attacker watches B's request channel for the follower's listener id.
            let watched = try await subscriber.subscribe(to: keysB.requests)
            async let followerB = context.resumeExistingStream("B")
            var requests = watched.makeAsyncIterator()
            guard case .message(let bytes)? = await requests.next(),
                case .resume(let listener, _, _)? = RequestMessage.parse(String(decoding: bytes, as: UTF8.self))
            else { Issue.record("no request seen"); return }
            let follower = try await followerB.resumed()
            for forged in [
                RequestMessage.encodeResume(listenerID: listener, skipCharacters: nil),
                RequestMessage.encodeResume(listenerID: listener, skipCharacters: nil, framing: FrameRequest()),
            ] {
                #expect(try await commands.publish(forged, to: keysA.requests) == 1)
            }
            writerA.write(" and more of A")
            writerB.write("own text")
            writerA.close()
            writerB.close()
            #expect(try await follower.collect() == "B's own text")
            await context.shutdown(gracePeriod: .seconds(5))
        }
    }
}
