import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// Real faults in a real Redis: a server of its own per test, killed, paused or with clients killed.
@Suite(
    "Faults: Redis killed, paused, connections killed", .enabled(if: !usesExternalRedis, "needs a redis-server it may kill"), .timeLimit(.minutes(1)))
struct FaultTests {
    /// Reads a stream to its end or its error, giving up (as a failure) after `limit`: never a hang.
    private func outcome(of stream: ResumableTextStream, within limit: Duration = .seconds(10)) async -> (text: String, error: (any Error)?) {
        await withDeadline(limit, on: .continuous) { await readAll(stream) } ?? ("", CancellationError())
    }

    @Test func redisKilledMidStreamLosesNothingSilently() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        var redis = try RedisConfiguration(url: server.url)
        redis.connectTimeout = .milliseconds(500)
        let context = ResumableStreamContext(redis: redis, configuration: .init(keyPrefix: "fault", watchdogInterval: .milliseconds(500)))
        var streams = try await StreamsWithFollowers((0..<100).map { "s\($0)" }, on: context)
        streams.write((0..<20).map { "first \($0) · " }.joined())
        try await Task.sleep(for: .milliseconds(200))

        try await server.kill()
        streams.write((0..<20).map { "second \($0) · " }.joined())
        try await Task.sleep(for: .seconds(2))
        try await server.restart()
        // New streams work again once Redis is back: after at most one reconnection delay (500 ms at most, with
        // its jitter; the schedule is ConnectionStateMachineTests' to check, without a clock), a connect and a claim.
        // The bound here leaves a loaded machine room.
        let recovered = await timeUntilNewStreamsWork(on: context, id: "after", since: .now, within: .seconds(5))
        #expect(recovered != nil)
        print("fault: new streams worked \(recovered.map { "\($0)" } ?? "never") after the restart")
        await streams.closeAndCheck(within: .seconds(10))
        await context.shutdown(gracePeriod: .seconds(5))
        // Nothing left behind: no producer, no subscription, no connection of ours.
        #expect(context.activeProducerCount == 0)
        #expect(try await server.cli(["PUBSUB", "CHANNELS", "*"]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        #expect(await eventually { (try? await clientCount(of: server)) == 0 })
    }

    /// Redis killed and never back: a follower must not wait for it forever. It ends with `interrupted`, the
    /// producer's own reader still gets every byte, and the context shuts down within its grace period. (When the
    /// follower ends, two silent watchdog intervals after the last chunk, is tested on a test clock in
    /// `ReliabilityTests`; here, that it ends.)
    @Test func followersOfARedisThatNeverComesBackEndWithinTheBound() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        var redis = try RedisConfiguration(url: server.url)
        redis.connectTimeout = .milliseconds(500)
        let context = ResumableStreamContext(redis: redis, configuration: .init(keyPrefix: "gone", watchdogInterval: .milliseconds(300)))
        let writer = Writer()
        let own = try await context.resumableStream("gone", makeStream: writer.source).created()
        let follower = try await context.resumeExistingStream("gone").resumed()
        writer.write("before · ")
        var chunks = follower.makeAsyncIterator()
        #expect(try await chunks.next() == "before · ")

        try await server.kill()
        let killed = ContinuousClock.now
        let interruption = await #expect(throws: ResumableStreamError.interrupted) { while try await chunks.next() != nil {} }
        // With why: Redis could not be asked how the stream went on.
        #expect(interruption?.underlyingError is RedisError, "\(String(describing: interruption))")
        #expect(ContinuousClock.now - killed < .seconds(10), "ended \(ContinuousClock.now - killed) after the kill: hung")

        writer.write("after")
        writer.close()
        #expect(await outcome(of: own).text == "before · after")
        let shutdownStarted = ContinuousClock.now
        await context.shutdown(gracePeriod: .seconds(1))
        #expect(ContinuousClock.now - shutdownStarted < .seconds(5), "a shutdown with a 1 s grace period took longer than 5 s")
    }

    /// Redis blocked for longer than the command timeout (`DEBUG SLEEP`): every command in the meantime times
    /// out, but the producer never stopped: its follower is not told that it did, and gets the exact text.
    @Test func aStalledRedisIsNotAStoppedProducer() async throws {
        let server = try await RedisServer.start(extraArguments: ["--enable-debug-command", "yes"])
        defer { try? server.stop() }
        var redis = try RedisConfiguration(url: server.url)
        redis.commandTimeout = .milliseconds(500)
        redis.reconnectInitialDelay = .milliseconds(10)
        let configuration = ResumableStreamConfiguration(keyPrefix: "stall", watchdogInterval: .milliseconds(200))
        let producing = ResumableStreamContext(redis: redis, configuration: configuration)
        let following = ResumableStreamContext(redis: redis, configuration: configuration)
        let writer = Writer()
        let own = try await producing.resumableStream("stalled", makeStream: writer.source).created()
        let follower = try await following.resumeExistingStream("stalled").resumed()
        writer.write("before the stall · ")
        let stall = Task { try await server.cli(["DEBUG", "SLEEP", "2"]) }
        try await Task.sleep(for: .milliseconds(100))
        writer.write("during · ")
        _ = try await stall.value
        writer.write("after")
        writer.close()
        #expect(try await own.collect() == "before the stall · during · after")
        let (text, error) = await outcome(of: follower)
        #expect(error == nil, "\(String(describing: error))")
        #expect(text == "before the stall · during · after")
        await producing.shutdown(gracePeriod: .seconds(5))
        await following.shutdown(gracePeriod: .seconds(5))
    }

    @Test func followerWhoseSubscriberIsKilledAtTheEndStillEnds() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        let redis = try RedisConfiguration(url: server.url)
        let producing = ResumableStreamContext(redis: redis, configuration: .init(keyPrefix: "kill"))
        let following = ResumableStreamContext(redis: redis, configuration: .init(keyPrefix: "kill", watchdogInterval: .milliseconds(300)))
        let writer = Writer()
        let producer = try await producing.resumableStream("s", makeStream: writer.source).created()
        let follower = try await following.resumeExistingStream("s").resumed()
        writer.write("everything")
        writer.close()
        _ = try await producer.collect()
        // Right after the producer finished, every pub/sub connection is killed: the DONE may be lost.
        _ = try await server.cli(["CLIENT", "KILL", "TYPE", "pubsub"])
        // The outcome's deadline is the bound: a follower that waits longer ends with a CancellationError.
        let (text, error) = await outcome(of: follower, within: .seconds(5))
        if let error { #expect(error is ResumableStreamError, "\(error)") } else { #expect(text == "everything") }
        await producing.shutdown(gracePeriod: .seconds(5))
        await following.shutdown(gracePeriod: .seconds(5))
    }

    @Test func pausedRedisGivesACommandTimeoutAndRecovers() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        var redis = try RedisConfiguration(url: server.url)
        redis.commandTimeout = .milliseconds(400)
        let context = ResumableStreamContext(redis: redis, configuration: .init(keyPrefix: "pause"))
        #expect(try await context.hasExistingStream("s") == .none)
        _ = try await server.cli(["CLIENT", "PAUSE", "3000", "ALL"])
        let started = ContinuousClock.now
        await #expect(throws: RedisError.commandTimeout(.milliseconds(400))) { try await context.hasExistingStream("s") }
        // While the server is still paused: the timeout ended the wait, not the server's return. (How soon after
        // 400 ms is tested on the reply deadline itself, without a clock: a busy machine adds to it here.)
        #expect(ContinuousClock.now - started < .milliseconds(3000))
        #expect(await eventually(within: .seconds(5)) { (try? await context.hasExistingStream("s")) == ResumableStreamState.none })
        await context.shutdown(gracePeriod: .seconds(5))
    }

    @Test func producerProcessKilledMidStreamLeavesFollowersWithAClearOutcome() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        let tool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rstream")
        try #require(FileManager.default.isExecutableFile(atPath: tool.path))
        let child = Process()
        child.executableURL = tool
        child.arguments = ["produce", "crashy", "--redis", server.url, "--prefix", "crash", "--running-ttl", "1"]
        let input = Pipe()
        child.standardInput = input
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        input.fileHandleForWriting.write(Data("before the crash\n".utf8))
        let context = ResumableStreamContext(
            redis: try RedisConfiguration(url: server.url),
            configuration: .init(keyPrefix: "crash", ackTimeout: .seconds(1), watchdogInterval: .milliseconds(300)))
        #expect(await eventually { (try? await context.hasExistingStream("crashy")) == .inProgress })
        let follower = try await context.resumeExistingStream("crashy").resumed()
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        // Within the outcome's deadline: the ack wait and the watchdog's schedules are ReliabilityTests' on a clock.
        let (text, error) = await outcome(of: follower)
        #expect(text == "before the crash\n")
        #expect(error as? ResumableStreamError == .producerUnreachable)
        // Asking again gives "unreachable" within the ack timeout (or "not found" once the short running TTL
        // passed), not a hang.
        switch try await context.resumeExistingStream("crashy") {
        case .producerUnreachable, .notFound: break
        case let again: Issue.record("expected .producerUnreachable or .notFound, got \(again)")
        }
        // The dead producer's sentinel expires with its running TTL, and the id is usable again.
        #expect(await eventually(within: .seconds(5)) { (try? await context.hasExistingStream("crashy")) == ResumableStreamState.none })
        let writer = Writer()
        let reborn = try await context.resumableStream("crashy", makeStream: writer.source).created()
        writer.write("after the crash")
        writer.close()
        #expect(try await reborn.collect() == "after the crash")
        await context.shutdown(gracePeriod: .seconds(5))
    }
}
