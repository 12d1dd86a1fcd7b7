import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// Streams with followers through a ``FaultProxy`` that injects seeded random faults (drops, black holes,
/// latency, half-closes, cuts) between both instances and Redis. Every follower ends with the producer's exact
/// text or with a clear error after an exact prefix; nothing hangs; the producers' own readers never depend on
/// Redis. `CHAOS_STREAMS` (default 1,000) and `CHAOS_SEED` (default random, printed) repeat a run.
@Suite(
    "Chaos: seeded faults between the library and Redis", .enabled(if: !usesExternalRedis, "needs a proxy to a redis-server of its own"),
    .timeLimit(.minutes(10)))
struct ChaosTests {
    /// How one stream ended for its follower.
    private enum Outcome {
        case exact
        case clearError(String)
        case notStarted
    }

    @Test func everyFollowerIsExactOrEndsWithAClearErrorAndNothingHangs() async throws {
        let environment = ProcessInfo.processInfo.environment
        let total = Int(environment["CHAOS_STREAMS"] ?? "") ?? 1_000
        let seed = UInt64(environment["CHAOS_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        print("chaos: \(total) streams, CHAOS_SEED=\(seed)")
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        let proxy = try FaultProxy(forwardingTo: server.port)
        defer { proxy.stop() }
        var redis = try RedisConfiguration(url: proxy.url)
        redis.connectTimeout = .milliseconds(500)
        redis.commandTimeout = .seconds(1)
        redis.reconnectInitialDelay = .milliseconds(10)
        redis.reconnectMaximumDelay = .milliseconds(100)
        let configuration = ResumableStreamConfiguration(
            keyPrefix: "chaos", ackTimeout: .seconds(1), ackRetryInterval: .milliseconds(50), watchdogInterval: .milliseconds(300))
        let producing = ResumableStreamContext(redis: redis, configuration: configuration)
        let following = ResumableStreamContext(redis: redis, configuration: configuration)

        let faults = Locked(0)
        let chaos = Task {
            var generator = SplitMix64(state: seed)
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int.random(in: 40...200, using: &generator)))
                proxy.injectRandomFault(using: &generator)
                faults.withLock { $0 += 1 }
            }
        }
        var outcomes: [Outcome] = []
        // Streams run in batches; a small run (the sanitizer builds', several times slower) in four, so that
        // each stream meets about as many faults as in a fast build.
        let batch = min(200, max(50, total / 4))
        for first in stride(from: 0, to: total, by: batch) {
            outcomes += await withTaskGroup(of: Outcome.self) { group in
                for index in first..<min(first + batch, total) {
                    group.addTask { await runStream("s\(index)", producing: producing, following: following) }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        chaos.cancel()
        await producing.shutdown(gracePeriod: .seconds(5))
        await following.shutdown(gracePeriod: .seconds(5))

        let exact = outcomes.filter { if case .exact = $0 { true } else { false } }.count
        var errors: [String: Int] = [:]
        for case .clearError(let error) in outcomes { errors[error, default: 0] += 1 }
        let errorCount = errors.values.reduce(0, +)
        print(
            "chaos: \(faults.withLock { $0 }) faults; \(exact) followers exact, \(errorCount) ended with a clear error, \(total - exact - errorCount) streams could not start"
        )
        for (error, count) in errors.sorted(by: { $0.value > $1.value }) { print("chaos:   \(count) × \(error)") }
        #expect(outcomes.count == total)
        #expect(exact > 0)
    }

    /// The stream of `call`'s result, trying up to three times while it throws (a dropped connection).
    private func retrying(_ call: () async throws -> ResumableStreamResult) async -> ResumableTextStream? {
        for attempt in 1...3 {
            do {
                return try await call().stream
            } catch {
                if attempt < 3 { try? await Task.sleep(for: .milliseconds(50 * attempt)) }
            }
        }
        return nil
    }

    /// One stream of 20 chunks over about 300 ms and its follower; records an issue for a wrong text, an unclear
    /// error or a hang.
    private func runStream(_ id: String, producing: ResumableStreamContext, following: ResumableStreamContext) async -> Outcome {
        let chunks = (0..<20).map { "\(id) chunk \($0) · " }
        let writer = Writer()
        // An application retries a start or a resume that failed on a dropped connection; so does this.
        guard let own = await retrying({ try await producing.resumableStream(id, makeStream: writer.source) }) else {
            return .notStarted
        }
        let follower = await retrying { try await following.resumeExistingStream(id) }
        for chunk in chunks {
            writer.write(chunk)
            try? await Task.sleep(for: .milliseconds(15))
        }
        writer.close()
        let ownText = try? await own.collect()
        #expect(ownText == chunks.joined(), "the producer's own reader lost text")
        guard let follower else { return .notStarted }
        guard let (text, error) = await withDeadline(.seconds(30), on: .continuous, { await readAll(follower) }) else {
            Issue.record("the follower of \(id) hung")
            return .clearError("hung")
        }
        #expect(chunks.joined().hasPrefix(text), "\(id): a follower's text is not a prefix of the producer's")
        guard let error else {
            #expect(text == chunks.joined(), "\(id): a follower ended without an error but with \(text.count) of \(chunks.joined().count) characters")
            return .exact
        }
        #expect(error is ResumableStreamError || error is RedisError, "\(id): \(error)")
        return .clearError("\(error)")
    }
}
