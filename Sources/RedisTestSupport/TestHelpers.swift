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

/// `PUBSUB CHANNELS pattern`: the channels matching `pattern` that have at least one subscriber.
public func channels(matching pattern: String, via commands: RedisCommandConnection) async throws -> [String] {
    guard case .array(let reply) = try await commands.send(["PUBSUB", "CHANNELS", .string(pattern)]) else {
        throw RedisError.unexpectedReply("PUBSUB CHANNELS")
    }
    return reply.compactMap(\.string)
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

/// This process's sockets connected to TCP port `port`, or whose own or peer address is a unix path
/// containing `unixPathPart`, each with whether it is close-on-exec (`FD_CLOEXEC`): a descriptor without it
/// is inherited by every child process.
public func socketDescriptors(toPort port: Int? = nil, unixPathContaining unixPathPart: String? = nil) -> [(
    descriptor: Int32, closeOnExec: Bool
)] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return names.compactMap(Int32.init).compactMap { descriptor in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)"),
            target.hasPrefix("socket:")
        else { return nil }
        let matches = [false, true].contains { peer in
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    peer ? getpeername(descriptor, $0, &length) : getsockname(descriptor, $0, &length)
                }
            }
            guard named == 0 else { return false }
            switch Int32(storage.ss_family) {
            case AF_INET where peer:
                let inet = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
                return port.map { UInt16($0) == UInt16(bigEndian: inet.sin_port) } ?? false
            case AF_INET6 where peer:
                let inet6 = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
                return port.map { UInt16($0) == UInt16(bigEndian: inet6.sin6_port) } ?? false
            case AF_UNIX:
                let path = withUnsafeBytes(of: storage) { bytes in
                    String(decoding: bytes[MemoryLayout<sa_family_t>.size...].prefix { $0 != 0 }, as: UTF8.self)
                }
                return unixPathPart.map { !path.isEmpty && path.contains($0) } ?? false
            default:
                return false
            }
        }
        guard matches else { return nil }
        return (descriptor, fcntl(descriptor, F_GETFD) & FD_CLOEXEC != 0)
    }
}
