import Foundation
import RedisBridge

/// Whether the tests run against a server from `REDIS_URL`, which they must not stop, kill or reconfigure.
public let usesExternalRedis = !(ProcessInfo.processInfo.environment["REDIS_URL"] ?? "").isEmpty

/// Whether the tests run under a sanitizer (`make test-tsan`, `make test-asan` set `SANITIZER`): several times
/// slower, so a test whose point is a race between two speeds proves nothing there.
public let runsUnderSanitizer = !(ProcessInfo.processInfo.environment["SANITIZER"] ?? "").isEmpty

/// The configuration of the server shared by the test process: `REDIS_URL`, or a throwaway `redis-server`.
public func sharedConfiguration() throws -> RedisConfiguration {
    if usesExternalRedis { return try RedisConfiguration.fromEnvironment() }
    return try RedisConfiguration(url: SharedRedis.server.url)
}

/// A key or channel name no other test uses.
public func uniqueName(_ label: String = #function) -> String {
    "test:\(label.prefix { $0 != "(" }):\(UUID().uuidString)"
}

/// Runs `body` with a command and a subscriber connection to `configuration`, closing both afterwards.
public func withConnections<Result>(
    _ configuration: RedisConfiguration,
    _ body: (RedisCommandConnection, RedisSubscriberConnection) async throws -> Result
) async throws -> Result {
    let commands = RedisCommandConnection(configuration: configuration)
    let subscriber = RedisSubscriberConnection(configuration: configuration)
    do {
        let result = try await body(commands, subscriber)
        await commands.close()
        await subscriber.close()
        return result
    } catch {
        await commands.close()
        await subscriber.close()
        throw error
    }
}

/// Polls `condition` every `interval` (20 ms) until it holds or `timeout` passes; returns whether it held.
public func eventually(
    within timeout: Duration = .seconds(5), every interval: Duration = .milliseconds(20), _ condition: () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return await condition()
}

/// `PUBSUB NUMSUB channel`: how many connections the server has subscribed to `channel`.
public func subscriberCount(_ channel: String, via commands: RedisCommandConnection) async throws -> Int {
    guard case .array(let reply) = try await commands.send(["PUBSUB", "NUMSUB", .string(channel)]),
        reply.count == 2, let count = reply[1].int
    else { throw RedisError.unexpectedReply("PUBSUB NUMSUB") }
    return count
}

/// The number of client connections a dedicated server has, not counting the `redis-cli` that asks.
public func clientCount(of server: RedisServer, password: String? = nil) async throws -> Int {
    try await server.cli(["CLIENT", "LIST"], password: password).split(separator: "\n").filter { !$0.contains("cmd=client") }.count
}

/// Sockets of this process connected to `port` on loopback, from /proc: shows leaked descriptors without
/// being disturbed by other tests' connections to other servers.
public func openSockets(toPort port: Int) -> Int {
    let fdDirectory = "/proc/self/fd"
    let inodes = Set(
        ((try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []).compactMap { fd -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                target.hasPrefix("socket:[")
            else { return nil }
            return String(target.dropFirst(8).dropLast())
        })
    let portHex = String(format: ":%04X", port)
    var count = 0
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[2].hasSuffix(portHex), inodes.contains(String(fields[9])) else { continue }
            count += 1
        }
    }
    return count
}
