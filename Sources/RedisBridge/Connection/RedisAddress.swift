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

    /// The ports a TCP server can listen on.
    static let validPorts = 1...65535

    /// ``port`` as the socket API takes it; a port outside ``validPorts`` (from a configuration, a redirect or
    /// a Sentinel reply) is a ``RedisError/connectionFailed(_:)``, never a trap in a narrowing conversion.
    func checkedPort() throws(RedisError) -> UInt16 {
        guard Self.validPorts.contains(port) else {
            throw .connectionFailed("port \(port) of \(host) is out of range (\(Self.validPorts))")
        }
        return UInt16(port)
    }
}
