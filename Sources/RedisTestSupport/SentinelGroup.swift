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

    /// The certificates of a group that speaks TLS.
    public let certificates: TestCertificates?

    /// `redis-sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/mymaster`; for a TLS group
    /// `rediss-sentinel://` with the TLS ports and the CA (`?ssl_ca_certs=`).
    public var url: String {
        let scheme = certificates == nil ? "redis-sentinel" : "rediss-sentinel"
        let query = certificates.map { "?ssl_ca_certs=\($0.caFile)" } ?? ""
        return "\(scheme)://" + sentinels.map { "127.0.0.1:\(port(of: $0))" }.joined(separator: ",") + "/\(name)\(query)"
    }

    /// The port clients reach `server` of the group on: its TLS port in a TLS group. (Every server also keeps a
    /// plain port, for the harness.)
    public func port(of server: RedisServer) -> Int {
        server.port(overTLS: certificates != nil)
    }

    private init(primary: RedisServer, replica: RedisServer, sentinels: [RedisServer], certificates: TestCertificates?) {
        self.primary = primary
        self.replica = replica
        self.sentinels = sentinels
        self.certificates = certificates
    }

    /// Starts the group and waits until it is ready to fail over (a few seconds: sentinels announce themselves
    /// to each other every 2 s). With `certificates`, every server also listens on a TLS port, and the
    /// replica and the sentinels reach the others through TLS only (`tls-replication yes`), so the sentinels
    /// name the TLS ports.
    public static func start(downAfter: Duration = .seconds(1), certificates: TestCertificates? = nil) async throws -> SentinelGroup {
        let tls = certificates?.serverArguments()
        let primary = try await RedisServer.start(tls: tls)
        let replication = ["--replicaof", "127.0.0.1", String(primary.port(overTLS: tls != nil))] + (tls == nil ? [] : ["--tls-replication", "yes"])
        let replica = try await RedisServer.start(extraArguments: replication, tls: tls)
        try await waitFor("the replica to sync", within: .seconds(10)) {
            try await replica.query(["INFO", "replication"]).contains("master_link_status:up")
        }
        var sentinels: [RedisServer] = []
        for _ in 0..<3 { sentinels.append(try await RedisServer.startSentinel(monitoring: primary, downAfter: downAfter, tls: tls)) }
        let group = SentinelGroup(primary: primary, replica: replica, sentinels: sentinels, certificates: certificates)
        for sentinel in sentinels {
            try await waitFor("each sentinel to know the replica and the other sentinels", within: .seconds(15)) {
                let replicas = try await sentinel.query(["SENTINEL", "REPLICAS", group.name])
                let others = try await sentinel.query(["SENTINEL", "SENTINELS", group.name])
                return replicas.contains(String(group.port(of: replica)))
                    && sentinels.filter { others.contains(String(group.port(of: $0))) }.count == 2
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
