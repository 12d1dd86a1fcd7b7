import Foundation
import RedisBridge

/// A Redis Sentinel deployment on loopback ports: a primary, a replica of it, and three sentinels (quorum 2)
/// that judge the primary down after `downAfter` of silence. ``start(downAfter:)`` returns once the replica is
/// in sync and every sentinel knows the replica and the other two sentinels, so a failover can happen at once.
public final class SentinelGroup: Sendable {
    /// The name the sentinels monitor the primary under.
    public let name = "mymaster"
    /// The primary when the group started (after a failover, the replica is the primary).
    public let primary: RedisServer
    /// The replica when the group started.
    public let replica: RedisServer
    /// The three sentinels.
    public let sentinels: [RedisServer]

    /// `redis-sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/mymaster`.
    public var url: String {
        "redis-sentinel://" + sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/\(name)"
    }

    private init(primary: RedisServer, replica: RedisServer, sentinels: [RedisServer]) {
        self.primary = primary
        self.replica = replica
        self.sentinels = sentinels
    }

    /// Starts the group and waits until it is ready to fail over (a few seconds: sentinels announce themselves
    /// to each other every 2 s).
    public static func start(downAfter: Duration = .seconds(1)) async throws -> SentinelGroup {
        let primary = try await RedisServer.start()
        let replica = try await RedisServer.start(extraArguments: ["--replicaof", "127.0.0.1", String(primary.port)])
        try await waitFor("the replica to sync", within: .seconds(10)) {
            try await replica.query(["INFO", "replication"]).contains("master_link_status:up")
        }
        var sentinels: [RedisServer] = []
        for _ in 0..<3 { sentinels.append(try await RedisServer.startSentinel(monitoring: primary, downAfter: downAfter)) }
        let group = SentinelGroup(primary: primary, replica: replica, sentinels: sentinels)
        for sentinel in sentinels {
            try await waitFor("each sentinel to know the replica and the other sentinels", within: .seconds(15)) {
                let replicas = try await sentinel.query(["SENTINEL", "REPLICAS", group.name])
                let others = try await sentinel.query(["SENTINEL", "SENTINELS", group.name])
                return replicas.contains(String(replica.port)) && sentinels.filter { others.contains(String($0.port)) }.count == 2
            }
        }
        return group
    }

    /// The port of the server the sentinels name as the primary now.
    public func currentPrimaryPort() async throws -> Int? {
        let reply = try await sentinels[0].query(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])
        return reply.split(separator: "\n").last.flatMap { Int($0) }
    }

    /// Stops every server of the group.
    public func stop() {
        for server in sentinels + [replica, primary] { try? server.stop() }
    }

    private static func waitFor(_ what: String, within limit: Duration, _ condition: () async throws -> Bool) async throws {
        guard await eventually(within: limit, every: .milliseconds(200), { (try? await condition()) == true }) else {
            throw RedisServer.Failure.didNotStart("waited \(limit) for \(what)")
        }
    }
}
