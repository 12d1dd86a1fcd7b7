import RedisTestSupport
import Testing

@testable import RedisBridge

#if canImport(Glibc)
import Glibc
#endif

/// The library must not depend on its host ignoring SIGPIPE (SwiftNIO servers do; a CLI, a worker or a test
/// runner does not) and must not change the host's disposition.
@Suite("Signals", .enabled(if: !usesExternalRedis, "needs a redis-server whose clients it kills"), .timeLimit(.minutes(1)))
struct SignalTests {
    /// Redis closes the connection while a large pipeline is being written: the next write(2) fails with EPIPE.
    /// With SIGPIPE's default action that would end this process; the connection must instead reconnect.
    @Test func connectionsKilledMidWriteRaiseNoSIGPIPE() async throws {
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.reconnectInitialDelay = .milliseconds(1)
        configuration.reconnectMaximumDelay = .milliseconds(5)
        try await withConnections(configuration) { publisher, _ in
            let killer = RedisCommandConnection(configuration: configuration)
            let message = String(repeating: "x", count: 256 * 1024)
            var kills = 0
            // At least 2 s and 20 kills (without the fix the process died within that in every run), at most 20 s.
            let (started, deadline) = (ContinuousClock.now, ContinuousClock.now + .seconds(20))
            while ContinuousClock.now < started + .seconds(2) || kills < 20, ContinuousClock.now < deadline {
                for _ in 0..<16 { publisher.publishWithoutWaiting(message, to: "sigpipe") }
                let reply = try await killer.send(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
                kills += reply.int ?? 0
                // Waits until the burst went out or failed: the queue of publishes stays bounded.
                _ = try? await publisher.send(["PING"])
            }
            // Still alive, and the connection recovers: a command after the storm gets its reply.
            try await Task.sleep(for: .milliseconds(50))
            #expect(kills >= 20)
            #expect(try await publisher.publish("after", to: "sigpipe") == 0)
            // Reading the disposition sets it: to the default, which it must still be.
            let disposition = signal(SIGPIPE, SIG_DFL)
            #expect(unsafeBitCast(disposition, to: Int.self) == unsafeBitCast(SIG_DFL, to: Int.self), "the library changed SIGPIPE's disposition")
            await killer.close()
        }
    }
}

@Suite("Signals from blocking connections", .enabled(if: !usesExternalRedis, "needs a redis-server whose clients it kills"), .timeLimit(.minutes(1)))
struct BlockingConnectionSignalTests {
    /// The blocking connection (Sentinel questions, seed probes) writes to a socket the server closed: the write
    /// fails with EPIPE, which must be an error, not a SIGPIPE that ends the process.
    @Test func blockingConnectionsWritingToAClosedSocketRaiseNoSIGPIPE() async throws {
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        let connection = try BlockingConnection(to: RedisAddress(host: server.host, port: server.port), timeout: .seconds(2))
        let id = try #require(try connection.command(["CLIENT", "ID"]).int)
        #expect(try await server.query(["CLIENT", "KILL", "ID", String(id)]) == "1")
        // Larger than the socket buffers: the server resets the connection while the command is being written,
        // and the next write fails with EPIPE.
        let value = RESPArgument.bytes([UInt8](repeating: 120, count: 16 << 20))
        #expect(throws: BlockingConnectionError.self) { try connection.command(["SET", "sigpipe", value]) }
        #expect(throws: BlockingConnectionError.self) { try connection.command(["PING"]) }
        let disposition = signal(SIGPIPE, SIG_DFL)
        #expect(unsafeBitCast(disposition, to: Int.self) == unsafeBitCast(SIG_DFL, to: Int.self), "the library changed SIGPIPE's disposition")
    }
}
