import Foundation
import RedisBridge
import RedisTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Tests that need a server of their own: they reconfigure, kill or restart it. Skipped with `REDIS_URL`.
@Suite("Authentication, timeouts, drops and restarts", .enabled(if: !usesExternalRedis, "needs a redis-server it may kill"), .timeLimit(.minutes(1)))
struct FailureTests {
    @Test func authenticatesWithRequirepass() async throws {
        let server = try await RedisServer.start(extraArguments: ["--requirepass", "s3cret"])
        defer { try? server.stop() }
        var configuration = try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(server.port)/2")
        configuration.connectTimeout = .seconds(2)
        try await withConnections(configuration) { commands, subscriber in
            let key = uniqueName()
            try await commands.set(key, to: "in db 2")
            #expect(try await server.cli(["-n", "2", "GET", key], password: "s3cret") == "in db 2")
            let subscription = try await subscriber.subscribe(to: key)
            #expect(try await commands.publish("authed", to: key) == 1)
            var iterator = subscription.makeAsyncIterator()
            #expect(await iterator.next() == .message(Array("authed".utf8)))
        }
    }

    @Test func authenticatesAnACLUser() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        _ = try await server.cli(["ACL", "SETUSER", "alice", "on", ">wonder land", "~*", "&*", "+@all"])
        let configuration = try RedisConfiguration(url: "redis://alice:wonder%20land@127.0.0.1:\(server.port)")
        try await withConnections(configuration) { commands, _ in
            let user = try await commands.send(["ACL", "WHOAMI"]).string
            #expect(user == "alice")
        }
    }

    @Test func wrongPasswordFailsClearlyWithoutLeakingIt() async throws {
        let server = try await RedisServer.start(extraArguments: ["--requirepass", "right"])
        defer { try? server.stop() }
        var configuration = try RedisConfiguration(url: "redis://:wrong-password@127.0.0.1:\(server.port)")
        // A long connect timeout: the refusal ends the attempt, not the timeout, however loaded the machine.
        configuration.connectTimeout = .seconds(10)
        let commands = RedisCommandConnection(configuration: configuration)
        let started = ContinuousClock.now
        do {
            try await commands.connect()
            Issue.record("connected with a wrong password")
        } catch let error as RedisError {
            guard error.code == .authenticationFailed else { throw error }
            #expect(error.reason.contains("WRONGPASS") || error.reason.contains("invalid password"))
            #expect(!"\(error)".contains("wrong-password"))
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        await commands.close()
    }

    @Test func refusedConnectionFailsWithinTheTimeout() async throws {
        let port = try RedisServer.freePort()
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
        // A long connect timeout: the refusal ends the attempt, not the timeout, however loaded the machine.
        configuration.connectTimeout = .seconds(10)
        let commands = RedisCommandConnection(configuration: configuration)
        let started = ContinuousClock.now
        await #expect(throws: RedisError.connectionFailed("Connection refused")) { try await commands.incr("x") }
        #expect(ContinuousClock.now - started < .seconds(10))
        await commands.close()
    }

    @Test func silentServerHitsTheConnectTimeout() async throws {
        // A loopback listener that accepts the TCP connection but never answers: AUTH gets no reply.
        let listener = try SilentListener()
        defer { listener.close() }
        var configuration = try RedisConfiguration(url: "redis://:pw@127.0.0.1:\(listener.port)")
        configuration.connectTimeout = .milliseconds(300)
        let commands = RedisCommandConnection(configuration: configuration)
        let started = ContinuousClock.now
        await #expect(throws: RedisError.connectTimeout(.milliseconds(300))) { try await commands.incr("x") }
        let elapsed = ContinuousClock.now - started
        // Not before the timeout; after it, as soon as a loaded machine gets to it.
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(5))
        await commands.close()
    }

    @Test func stalledServerHitsTheCommandTimeoutAndRecovers() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.commandTimeout = .milliseconds(400)
        try await withConnections(configuration) { commands, _ in
            #expect(try await commands.incr("counter") == 1)
            _ = try await server.cli(["CLIENT", "PAUSE", "3000", "ALL"])
            let started = ContinuousClock.now
            await #expect(throws: RedisError.commandTimeout(.milliseconds(400))) { try await commands.incr("counter") }
            // While the server is still paused: the timeout, not the server's return, ended the wait. (How soon
            // after 400 ms is the reply deadline's own test, on AwaitedReplies, without a clock.)
            #expect(ContinuousClock.now - started < .milliseconds(3000))
            // After the pause the connection is back; the timed-out INCR may or may not have run, never twice.
            #expect(await eventually(within: .seconds(5)) { (try? await commands.get("counter")) != nil })
            let value = try #require(try await commands.get("counter").flatMap { Int($0) })
            #expect(value == 1 || value == 2)
        }
    }

    /// A frozen server accepts connections and answers nothing: a `subscribe` gets the command timeout instead
    /// of waiting across reconnections forever, and works again once the server thaws.
    @Test func subscribingToAFrozenServerFailsWithinTheCommandTimeout() async throws {
        let server = try await RedisServer.start()
        defer {
            try? server.thaw()
            try? server.stop()
        }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.commandTimeout = .milliseconds(400)
        try await withConnections(configuration) { commands, subscriber in
            try server.freeze()
            let started = ContinuousClock.now
            await #expect(throws: RedisError.commandTimeout(.milliseconds(400))) { _ = try await subscriber.subscribe(to: "frozen") }
            // While the server is still frozen (until the thaw): the timeout ended the wait.
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(await subscriber.channelCount == 0)
            try server.thaw()
            #expect(await eventually { (try? await subscriber.subscribe(to: "thawed")) != nil })
        }
    }

    @Test func killedCommandConnectionReconnectsAndFailsWhatWasInFlight() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        try await withConnections(try RedisConfiguration(url: server.url)) { commands, _ in
            #expect(try await commands.incr("n") == 1)
            _ = try await server.cli(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
            // The first command after the kill may see the dropped connection; it is never retried.
            do { _ = try await commands.incr("n") } catch let error as RedisError where error.code == .connectionLost {}
            #expect(await eventually { (try? await commands.incr("n")) != nil })
            let value = try #require(try await commands.get("n").flatMap { Int($0) })
            #expect(value >= 2 && value <= 3)
        }
    }

    @Test func killedSubscriberConnectionResubscribesAndSaysSo() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        try await withConnections(try RedisConfiguration(url: server.url)) { commands, subscriber in
            let channel = "events"
            let subscription = try await subscriber.subscribe(to: channel)
            var iterator = subscription.makeAsyncIterator()
            _ = try await server.cli(["CLIENT", "KILL", "TYPE", "pubsub"])
            #expect(await iterator.next() == .resubscribed)
            #expect(try await subscriberCount(channel, via: commands) == 1)
            #expect(try await commands.publish("after", to: channel) == 1)
            #expect(await iterator.next() == .message(Array("after".utf8)))
        }
    }

    @Test func redisRestartReconnectsBothConnections() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        try await withConnections(try RedisConfiguration(url: server.url)) { commands, subscriber in
            let subscription = try await subscriber.subscribe(to: "live")
            var iterator = subscription.makeAsyncIterator()
            try await server.kill()
            await #expect(throws: RedisError.self) { try await commands.incr("n") }
            try await Task.sleep(for: .milliseconds(300))
            try await server.restart()
            let restarted = ContinuousClock.now
            #expect(await eventually { (try? await commands.incr("n")) == 1 })
            // One reconnection delay (the schedule is ConnectionStateMachineTests') and a connect, with room for a
            // loaded machine.
            #expect(ContinuousClock.now - restarted < .seconds(5))
            #expect(await iterator.next() == .resubscribed)
            #expect(try await subscriberCount("live", via: commands) == 1)
            #expect(try await commands.publish("back", to: "live") == 1)
            #expect(await iterator.next() == .message(Array("back".utf8)))
        }
    }

    @Test func subscribeWhileRedisIsDownFailsInsteadOfHanging() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.connectTimeout = .milliseconds(500)
        try server.stop()
        let subscriber = RedisSubscriberConnection(configuration: configuration)
        await #expect(throws: RedisError.self) { try await subscriber.subscribe(to: "x") }
        #expect(await subscriber.channelCount == 0)
        await subscriber.close()
    }

    @Test func closingLeavesNoConnectionOrDescriptorBehind() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        let configuration = try RedisConfiguration(url: server.url)
        for _ in 0..<10 {
            try await withConnections(configuration) { commands, subscriber in
                _ = try await commands.incr("n")
                _ = try await subscriber.subscribe(to: "c")
                #expect(try await clientCount(of: server) == 2)
            }
        }
        #expect(try await clientCount(of: server) == 0)
        #expect(openSockets(toPort: server.port) == 0)
    }

    @Test func droppedConnectionsCloseThemselves() async throws {
        let server = try await RedisServer.start()
        defer { try? server.stop() }
        let configuration = try RedisConfiguration(url: server.url)
        do {
            let commands = RedisCommandConnection(configuration: configuration)
            _ = try await commands.incr("n")
        }
        #expect(await eventually { (try? await clientCount(of: server)) == 0 })
        #expect(openSockets(toPort: server.port) == 0)
    }

    @Test func unixSocketConnections() async throws {
        let server = try await RedisServer.start(unixSocket: true)
        defer { try? server.stop() }
        let path = try #require(server.unixSocketPath)
        try await withConnections(try RedisConfiguration(url: "unix://\(path)?db=1")) { commands, subscriber in
            try await commands.set("k", to: "over unix")
            #expect(try await server.cli(["-n", "1", "GET", "k"]) == "over unix")
            let subscription = try await subscriber.subscribe(to: "u")
            #expect(try await commands.publish("m", to: "u") == 1)
            var iterator = subscription.makeAsyncIterator()
            #expect(await iterator.next() == .message([109]))
        }
    }
}

/// A loopback TCP listener that accepts connections and never reads or answers.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else { throw RedisError.connectionFailed("listener") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(descriptor) }
}
