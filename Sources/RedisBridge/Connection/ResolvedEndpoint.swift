/// A resolved address for one connection attempt (host names are resolved off the queue first, because
/// hiredis 0.14 would call a blocking `getaddrinfo` inside `redisAsyncConnect`).
enum ResolvedEndpoint: Sendable {
    case tcp(address: String, port: UInt16)
    case unixSocket(path: String)
}
