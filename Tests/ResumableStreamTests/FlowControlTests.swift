import RedisBridge
import RedisTestSupport
@testable import ResumableStream
import Testing

/// One fast stream with many followers must not make Redis close the subscriber connection that every stream
/// of the followers' process shares (its pub/sub output-buffer limit; made small here, 32 MB by default). A
/// Swift producer sends each Swift follower at most a window beyond what it confirmed, so it cannot; without
/// the window, the same load trips the limit, and the followers recover from their offsets.
@Suite("Flow control", .enabled(if: !usesExternalRedis, "needs a redis-server with a small output-buffer limit"), .timeLimit(.minutes(1)))
struct FlowControlTests {
    /// A heavy stream with ten followers and a light one with two, followed from one process, on a server whose
    /// pub/sub output-buffer limit is 128 KiB (64 KiB for a second). The heavy stream is written in bursts of
    /// 1.6 MB, at most five, until Redis closed the followers' subscriber connection. Returns the texts and what
    /// each follower read, and whether Redis closed it.
    private func heavyAndLightStreams(followerWindow: Int?) async throws -> (
        heavy: String, light: String,
        heavyReads: [(text: String, error: (any Error)?)], lightReads: [(text: String, error: (any Error)?)],
        closed: Bool
    ) {
        let server = try await RedisServer.start(extraArguments: ["--client-output-buffer-limit", "pubsub 128kb 64kb 1"])
        defer { try? server.stop() }
        var redis = try RedisConfiguration(url: server.url)
        redis.reconnectInitialDelay = .milliseconds(10)
        // Replay pieces well below the limit, as the README asks.
        let configuration = ResumableStreamConfiguration(
            keyPrefix: "flow-control", watchdogInterval: .seconds(1), replayPieceSize: 16 * 1024, followerWindow: followerWindow)
        let producing = ResumableStreamContext(redis: redis, configuration: configuration)
        let following = ResumableStreamContext(redis: redis, configuration: configuration)
        let (heavy, light) = (Writer(), Writer())
        let heavyOwn = try await producing.resumableStream("heavy", makeStream: heavy.source).created()
        let lightOwn = try await producing.resumableStream("light", makeStream: light.source).created()
        var heavyFollowers: [ResumableTextStream] = []
        for _ in 0..<10 { heavyFollowers.append(try await following.resumeExistingStream("heavy").resumed()) }
        let lightFollowers = [try await following.resumeExistingStream("light").resumed(),
                              try await following.resumeExistingStream("light").resumed()]
        let heavyReaders = heavyFollowers.map { follower in Task { await readAll(follower) } }
        let lightReaders = lightFollowers.map { follower in Task { await readAll(follower) } }
        let block = String(repeating: "0123456789abcdef", count: 1024)
        var heavyText = ""
        var lightText = ""
        for _ in 0..<5 where !server.log.contains("output buffer limits") {
            for chunk in 0..<100 {
                let next = "\(chunk):" + block
                heavyText += next
                heavy.write(next)
                if chunk % 4 == 0 {
                    let line = "light \(lightText.count)\n"
                    lightText += line
                    light.write(line)
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        heavy.close()
        light.close()
        #expect(try await heavyOwn.collect() == heavyText)
        #expect(try await lightOwn.collect() == lightText)
        var heavyReads: [(text: String, error: (any Error)?)] = []
        for reader in heavyReaders { heavyReads.append(await reader.value) }
        var lightReads: [(text: String, error: (any Error)?)] = []
        for reader in lightReaders { lightReads.append(await reader.value) }
        await producing.shutdown(gracePeriod: .seconds(5))
        await following.shutdown(gracePeriod: .seconds(5))
        return (heavyText, lightText, heavyReads, lightReads, server.log.contains("output buffer limits"))
    }

    @Test func aWindowKeepsAHeavyStreamFromClosingTheConnectionItSharesWithOtherStreams() async throws {
        let run = try await heavyAndLightStreams(followerWindow: 4 * 1024)
        #expect(!run.closed, "Redis closed the followers' subscriber connection")
        for (reads, text) in [(run.heavyReads, run.heavy), (run.lightReads, run.light)] {
            for read in reads {
                #expect(read.error == nil, "\(String(describing: read.error))")
                #expect(read.text == text, "\(read.text.utf16.count) of \(text.utf16.count) characters")
            }
        }
    }

    /// The control: without a window the same load trips the limit (so the test above can fail). Every
    /// follower, of either stream, loses messages, asks again from its offset, and ends with the exact text or
    /// a clear error after an exact prefix (`interrupted`, or `producerUnreachable` once the producer stopped
    /// lingering), never a hole.
    @Test func withoutAWindowRedisClosesTheSharedConnectionAndFollowersLoseNothing() async throws {
        let run = try await heavyAndLightStreams(followerWindow: nil)
        #expect(run.closed, "Redis never closed the subscriber connection: the test did not test")
        for (reads, text) in [(run.heavyReads, run.heavy), (run.lightReads, run.light)] {
            for read in reads {
                #expect(text.hasPrefix(read.text))
                #expect(read.error == nil ? read.text == text : read.error is ResumableStreamError, "\(String(describing: read.error))")
            }
        }
    }
}
