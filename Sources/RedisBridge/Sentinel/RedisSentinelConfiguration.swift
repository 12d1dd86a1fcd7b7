/// Where Redis Sentinel is and which primary to ask it for: the endpoint of
/// ``RedisConfiguration/Endpoint/sentinel(_:)``.
///
/// Every (re)connection asks the sentinels, in order, for the current address of the primary named
/// ``primaryName`` (`SENTINEL get-master-addr-by-name`), connects there and checks with `ROLE` that it is a
/// primary. A dropped connection, a `-READONLY` reply from a primary that was demoted, or the sentinels'
/// announcement of a failover makes the next attempt ask again, so both connections follow a failover with the
/// usual reconnection backoff. For the announcement, each connection subscribes to `+switch-master` on every
/// sentinel from its first attempt on (one more connection per sentinel): a planned failover
/// (`SENTINEL FAILOVER`) is followed within a fraction of a second of the sentinels naming the new primary,
/// instead of when the old one is demoted (up to 10 s later, while it takes writes it then loses).
public struct RedisSentinelConfiguration: Sendable, Hashable {
    /// The sentinels, asked in this order until one knows the primary.
    public var sentinels: [RedisAddress]
    /// The name the sentinels monitor the primary under (`sentinel monitor <name> ...`).
    public var primaryName: String
    /// The ACL user for the sentinels' own `AUTH`; `nil` sends `AUTH password` when there is a password.
    public var username: String?
    /// The sentinels' own password (`requirepass` in their configuration), not the primary's.
    public var password: String?
    /// TLS to the sentinels (`tls-port` in their configuration), verified as for `rediss://`; `nil` for plain
    /// connections. The primary's TLS is ``RedisConfiguration/tls``.
    public var tls: RedisTLSConfiguration?

    /// Sentinels that monitor the primary `primaryName`, with their own credentials and TLS if they need them.
    public init(
        sentinels: [RedisAddress], primaryName: String, username: String? = nil, password: String? = nil, tls: RedisTLSConfiguration? = nil
    ) {
        self.sentinels = sentinels
        self.primaryName = primaryName
        self.username = username
        self.password = password
        self.tls = tls
    }
}
