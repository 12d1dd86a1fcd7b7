import MetricsTestKit
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// A 1 KiB chunk that says where it is in the stream.
private func numberedChunk(_ index: Int) -> String {
    let label = String(index)
    return String(repeating: "0", count: 6 - label.count) + label + String(repeating: "·", count: 509)
}

/// The policy for a follower whose reader stops reading: it keeps up to
/// ``ResumableStreamConfiguration/followerBacklogLimit`` bytes, then it is dropped with an error after what it
/// holds, and resumes from there with nothing lost. Nobody else waits for it.
@Suite("Slow followers", .timeLimit(.minutes(1)))
struct SlowFollowerTests {
    @Test(arguments: Backend.allCases)
    func slowFollowerIsDroppedWhileEveryoneElseKeepsUp(_ backend: Backend) async throws {
        let limit = 64 * 1024
        let metrics = TestMetrics()
        func slowFollowerDrops() -> Int64 {
            (try? metrics.expectCounter("resumable_stream.follower.too_slow").totalValue) ?? 0
        }
        try await withContext(backend, configure: { $0.followerBacklogLimit = limit }, metrics: metrics) { context in
            let writer = Writer()
            let otherWriter = Writer()
            let producer = try await context.resumableStream("watched", makeStream: writer.source).created()
            let otherProducer = try await context.resumableStream("other", makeStream: otherWriter.source).created()
            let slow = try await context.resumeExistingStream("watched").resumed()
            let fast = try await context.resumeExistingStream("watched").resumed()
            let otherFollower = try await context.resumeExistingStream("other").resumed()
            let progress = Locked<[String: Int]>([:])
            async let own = readAll(producer, as: "own", progress: progress)
            async let fastOutcome = readAll(fast, as: "fast", progress: progress)
            async let other = readAll(otherFollower, as: "other", progress: progress)
            async let otherOwn = readAll(otherProducer, as: "other's own", progress: progress)

            // Bursts of half the limit, each read by everyone but the slow follower before the next: readers
            // that keep up are never near the limit, the slow one passes it within a few bursts.
            let chunks = (0..<2048).map(numberedChunk)  // 2 MiB
            var written = 0
            func writeBurst() async {
                for chunk in chunks[written / 1024..<written / 1024 + 32] {
                    writer.write(chunk)
                    otherWriter.write(chunk)
                }
                written += 32 * 1024
                let target = written
                #expect(
                    await eventually(within: .seconds(10)) {
                        progress.withLock { taken in taken.count == 4 && taken.values.allSatisfy { $0 == target } }
                    })
            }
            while slowFollowerDrops() == 0, written < 1024 * 1024 { await writeBurst() }
            #expect(await eventually(within: .seconds(10)) { slowFollowerDrops() > 0 })

            // The slow reader gets what was held for it, then the error, and resumes from there: its replay is
            // the little written since, well under the limit.
            let (held, error) = await readAll(slow)
            #expect(error as? ResumableStreamError == .followerTooSlow(limit))
            #expect(!held.isEmpty && held.utf8.count <= limit, "held \(held.utf8.count) bytes")
            let text = chunks.joined()
            #expect(text.hasPrefix(held), "the held text is not the stream's start")
            let rest = try await context.resumeExistingStream("watched", skipCharacters: held.utf16.count).resumed()
            async let resumed = readAll(rest)

            while written < chunks.count * 1024 { await writeBurst() }
            writer.close()
            otherWriter.close()
            let resumedOutcome = await resumed
            #expect(resumedOutcome.error == nil)
            let resumedExactly = held + resumedOutcome.text == text
            #expect(resumedExactly, "the resumed reader lost or doubled text")
            for (name, outcome) in [("own", await own), ("fast", await fastOutcome), ("other", await other), ("other's own", await otherOwn)] {
                #expect(outcome.error == nil, "\(name)")
                let exact = outcome.text == text
                #expect(exact, "\(name) got \(outcome.text.utf8.count) bytes, not the stream")
            }
            #expect(slowFollowerDrops() == 1)
        }
    }

    /// The subscriber connection is read as fast as Redis sends, whatever the readers do: a reader that sits
    /// on 16 MiB for 3 s leaves nothing in Redis's output buffer, whose limit here is 2 MiB for 2 s (8 MiB
    /// at once). If the library stopped reading the socket for it, Redis would close the shared connection and
    /// every follower would end with `interrupted`. The text goes out in bursts of 256 KiB that the reading
    /// follower takes before the next, so that only the idle reader, not a slow build, can fill the buffer.
    @Test(.enabled(if: !usesExternalRedis, "needs a redis-server of its own"))
    func sittingOnSixteenMebibytesNeverTripsRedissOutputBufferLimit() async throws {
        let server = try await RedisServer.start(extraArguments: ["--client-output-buffer-limit", "pubsub 8mb 2mb 2"])
        defer { try? server.stop() }
        let context = ResumableStreamContext(
            redis: try RedisConfiguration(url: server.url),
            configuration: .init(keyPrefix: "slow", ackTimeout: handshakePatience, followerBacklogLimit: nil)
        )
        let writer = Writer()
        let producer = try await context.resumableStream("big", makeStream: writer.source).created()
        let idle = try await context.resumeExistingStream("big").resumed()
        let reading = try await context.resumeExistingStream("big").resumed()
        let connections = try await clientIDs(of: server)
        let progress = Locked<[String: Int]>([:])
        async let readingText = readAll(reading, as: "reading", progress: progress)
        async let ownText = readAll(producer)
        let chunks = (0..<16 * 1024).map(numberedChunk)
        for burst in stride(from: 0, to: chunks.count, by: 256) {
            for chunk in chunks[burst..<burst + 256] { writer.write(chunk) }
            let target = (burst + 256) * 1024
            #expect(await eventually(within: .seconds(10)) { progress.withLock { $0["reading"] ?? 0 } >= target })
        }
        writer.close()
        try await Task.sleep(for: .seconds(3))

        let text = chunks.joined()
        for (name, outcome) in [("idle", await readAll(idle)), ("reading", await readingText), ("own", await ownText)] {
            #expect(outcome.error == nil, "\(name)")
            let exact = outcome.text == text
            #expect(exact, "\(name) got \(outcome.text.utf8.count) bytes, not the stream")
        }
        // Redis 7.0 counts no output-buffer disconnections, but a closed connection would have been reopened.
        #expect(try await clientIDs(of: server) == connections)
        await context.shutdown(gracePeriod: .seconds(5))
    }

    /// The ids of the server's client connections, less the `redis-cli` that asks: a connection that was
    /// closed and opened again has a new id.
    private func clientIDs(of server: RedisServer) async throws -> Set<Substring> {
        let clients = try await server.cli(["CLIENT", "LIST"]).split(whereSeparator: \.isNewline)
        return Set(clients.filter { !$0.contains("cmd=client") }.compactMap { $0.split(separator: " ").first })
    }
}
