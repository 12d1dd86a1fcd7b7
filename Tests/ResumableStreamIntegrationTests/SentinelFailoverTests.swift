import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// The primary of a Sentinel group killed (`SIGKILL`) while 20 streams with followers run: what a Redis restart
/// gives, plus new streams on the promoted replica within a bound.
@Suite("Streams through a Sentinel failover", .enabled(if: !usesExternalRedis, "starts a Sentinel group of its own"), .timeLimit(.minutes(1)))
struct SentinelFailoverTests {
    @Test func killingThePrimaryMidStreamLosesNothingSilentlyAndNewStreamsFollowThePromotion() async throws {
        let group = try await SentinelGroup.start()
        defer { group.stop() }
        var redis = try RedisConfiguration(url: group.url)
        redis.connectTimeout = .milliseconds(500)
        let context = ResumableStreamContext(
            redis: redis, configuration: .init(keyPrefix: "sentinel", ackTimeout: handshakePatience, watchdogInterval: .milliseconds(500)))
        var streams = try await StreamsWithFollowers((0..<20).map { "s\($0)" }, on: context)
        streams.write((0..<20).map { "before \($0) · " }.joined())
        try await Task.sleep(for: .milliseconds(200))

        try await group.primary.kill()
        let killed = ContinuousClock.now
        streams.write((0..<20).map { "after \($0) · " }.joined())
        // New streams work once the replica is promoted (down-after 1 s, then the election and the promotion).
        let elapsed = await timeUntilNewStreamsWork(on: context, id: "after-failover", since: killed, within: .seconds(20))
        print("sentinel: a new stream was created \(elapsed.map { "\($0)" } ?? "never") after SIGKILL of the primary (down-after 1 s)")
        #expect(elapsed != nil)
        #expect(try await group.currentPrimaryPort() == group.replica.port)
        await streams.closeAndCheck()
        await context.shutdown(gracePeriod: .seconds(5))
        #expect(context.activeProducerCount == 0)
    }
}
