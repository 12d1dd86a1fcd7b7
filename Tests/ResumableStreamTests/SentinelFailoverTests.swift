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
        let writers = (0..<20).map { _ in Writer() }
        var producers: [ResumableTextStream] = []
        var followers: [ResumableTextStream] = []
        for (index, writer) in writers.enumerated() {
            producers.append(try await context.resumableStream("s\(index)", makeStream: writer.source).created())
            followers.append(try await context.resumeExistingStream("s\(index)").resumed())
        }
        let before = (0..<20).map { "before \($0) · " }.joined()
        let after = (0..<20).map { "after \($0) · " }.joined()
        for writer in writers { writer.write(before) }
        try await Task.sleep(for: .milliseconds(200))

        try await group.primary.kill()
        let killed = ContinuousClock.now
        for writer in writers { writer.write(after) }
        // New streams work once the replica is promoted (down-after 1 s, then the election and the promotion).
        let fresh = Writer()
        var created = false
        while !created, ContinuousClock.now - killed < .seconds(20) {
            if case .created = try? await context.resumableStream("after-failover", makeStream: fresh.source) {
                created = true
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let elapsed = ContinuousClock.now - killed
        print("sentinel: a new stream was created \(elapsed) after SIGKILL of the primary (down-after 1 s)")
        #expect(created)
        #expect(try await group.currentPrimaryPort() == group.replica.port)
        fresh.close()
        for writer in writers { writer.close() }

        // The producers' own readers never depend on Redis: every byte.
        for producer in producers { #expect(try await producer.collect() == before + after) }
        // Each follower gets every byte, or a clear error after a prefix: never silence, never a duplicate.
        for follower in followers {
            let (text, error) = await withDeadline(.seconds(15)) { await readAll(follower) } ?? ("", CancellationError())
            if let error {
                #expect(error is ResumableStreamError, "\(error)")
                #expect((before + after).hasPrefix(text))
            } else {
                #expect(text == before + after)
            }
        }
        await context.shutdown(gracePeriod: .seconds(5))
        #expect(context.activeProducerCount == 0)
    }
}
