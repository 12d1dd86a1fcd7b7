/// Where Redis Sentinel is and which primary to ask it for: the endpoint of
/// ``RedisConfiguration/Endpoint/sentinel(_:)``.
///
/// Every (re)connection asks the sentinels, in order, for the current address of the primary named
/// ``primaryName`` (`SENTINEL get-master-addr-by-name`), connects there and checks with `ROLE` that it is a
/// primary. A dropped connection, or a `-READONLY` reply from a primary that was demoted, makes the next attempt
/// ask again, so both connections follow a failover with the usual reconnection backoff.
public struct RedisSentinelConfiguration: Sendable, Hashable {
    /// The sentinels, asked in this order until one knows the primary.
    public var sentinels: [RedisAddress]
    /// The name the sentinels monitor the primary under (`sentinel monitor <name> ...`).
    public var primaryName: String
    /// The ACL user for the sentinels' own `AUTH`; `nil` sends `AUTH password` when there is a password.
    public var username: String?
    /// The sentinels' own password (`requirepass` in their configuration), not the primary's.
    public var password: String?

    /// Sentinels that monitor the primary `primaryName`, with their own credentials if they need them.
    public init(sentinels: [RedisAddress], primaryName: String, username: String? = nil, password: String? = nil) {
        self.sentinels = sentinels
        self.primaryName = primaryName
        self.username = username
        self.password = password
    }
}
