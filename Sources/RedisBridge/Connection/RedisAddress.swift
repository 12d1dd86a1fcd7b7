/// A server's address: a sentinel of ``RedisSentinelConfiguration`` or a seed node of a cluster.
public struct RedisAddress: Sendable, Hashable, CustomStringConvertible {
    /// A host name or an IP address.
    public var host: String
    /// The TCP port.
    public var port: Int

    /// The server at `host:port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 address in brackets.
    public var description: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
