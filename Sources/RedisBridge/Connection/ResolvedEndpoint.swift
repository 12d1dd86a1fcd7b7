/// A resolved address for one connection attempt (host names are resolved off the queue first, because
/// hiredis 0.14 would call a blocking `getaddrinfo` inside `redisAsyncConnect`).
enum ResolvedEndpoint: Sendable {
    /// `host` is the name as configured, or as Sentinel named the primary: the name TLS verifies, and the one a
    /// failover announcement is compared with. `address` is the IP address it resolved to.
    case tcp(host: String, address: String, port: UInt16)
    case unixSocket(path: String)
}
