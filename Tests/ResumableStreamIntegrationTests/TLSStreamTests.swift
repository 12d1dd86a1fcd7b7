import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// Whole streams over `rediss://` on a TLS-only connection to a `redis-server --tls-port` with a password: the
/// same guarantees as over plain TCP, a Redis restart included.
@Suite("Streams over TLS", .enabled(if: !usesExternalRedis, "starts a TLS server of its own"), .timeLimit(.minutes(1)))
struct TLSStreamTests {
    @Test func followersOverTLSGetEveryByteAndARestartLosesNothingSilently() async throws {
        let certificates = try TestCertificates()
        let server = try await RedisServer.start(extraArguments: ["--requirepass", "pw"], tls: certificates.serverArguments())
        defer { try? server.stop() }
        var redis = try RedisConfiguration(url: "rediss://:pw@localhost:\(server.tlsPort!)?ssl_ca_certs=\(certificates.caFile)")
        redis.connectTimeout = .milliseconds(500)
        let context = ResumableStreamContext(
            redis: redis, configuration: .init(keyPrefix: "tls", ackTimeout: handshakePatience, watchdogInterval: .milliseconds(500)))

        // A whole stream: the producer's reader and three followers get exactly the text.
        let writer = Writer()
        let producer = try await context.resumableStream("whole", makeStream: writer.source).created()
        var followers: [ResumableTextStream] = []
        for _ in 0..<3 { followers.append(try await context.resumeExistingStream("whole").resumed()) }
        let chunks = (0..<2_000).map { "chunk \($0) · naïve 日本語 👩‍💻\n" }
        for chunk in chunks { writer.write(chunk) }
        writer.close()
        let expected = chunks.joined()
        let own = try await producer.collect()
        #expect(own == expected)
        for follower in followers {
            let text = try await follower.collect()
            #expect(text.utf8.count == expected.utf8.count)
            #expect(text == expected, "a follower's text differs")
        }

        // Redis restarted mid-stream: the producers' readers get every byte; followers every byte or a clear
        // error after a prefix.
        var streams = try await StreamsWithFollowers((0..<10).map { "s\($0)" }, on: context)
        streams.write((0..<20).map { "before \($0) · " }.joined())
        try await Task.sleep(for: .milliseconds(200))
        try await server.restart()
        streams.write((0..<20).map { "after \($0) · " }.joined())
        await streams.closeAndCheck(within: .seconds(10))
        // New streams work over TLS again, and the shutdown leaves no connection behind.
        #expect(await timeUntilNewStreamsWork(on: context, id: "fresh", since: .now, within: .seconds(5)) != nil)
        await context.shutdown(gracePeriod: .seconds(5))
        #expect(await eventually { (try? await clientCount(of: server, password: "pw")) == 0 })
    }
}
