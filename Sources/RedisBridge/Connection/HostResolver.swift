import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves host names without blocking a connection's queue: `getaddrinfo` blocks, so it runs on a global
/// queue, and IP literals skip it. IPv4 addresses are preferred, as Redis binds 127.0.0.1 by default while
/// `localhost` may resolve to ::1 first. A Sentinel endpoint is resolved by asking the sentinels for the
/// primary (``SentinelDiscovery``, bounded by `timeout` per sentinel), on the same global queue. A cluster
/// endpoint is the seed at `attempt` (the failed attempts so far) in turn: every connection and every process
/// with the same seeds tries them in the same order.
enum HostResolver {
    static func resolve(
        _ endpoint: RedisConfiguration.Endpoint,
        attempt: Int = 0,
        timeout: Duration,
        completion: @escaping @Sendable (Result<ResolvedEndpoint, RedisError>) -> Void
    ) {
        switch endpoint {
        case .unixSocket(let path):
            completion(.success(.unixSocket(path: path)))
        case .tcp(let host, let port):
            let checked: UInt16
            do throws(RedisError) {
                checked = try RedisAddress(host: host, port: port).checkedPort()
            } catch {
                return completion(.failure(error))
            }
            if isIPLiteral(host) {
                completion(.success(.tcp(host: host, address: host, port: checked)))
            } else {
                DispatchQueue.global().async {
                    completion(lookUp(host).map { .tcp(host: host, address: $0, port: checked) })
                }
            }
        case .cluster(let seeds):
            guard !seeds.isEmpty else { return completion(.failure(.connectionFailed("the cluster has no seed node"))) }
            let seed = seeds[attempt % seeds.count]
            resolve(.tcp(host: seed.host, port: seed.port), timeout: timeout, completion: completion)
        case .sentinel(let sentinel):
            DispatchQueue.global().async {
                completion(
                    SentinelDiscovery.primaryAddress(sentinel, timeout: timeout).flatMap { primary in
                        Result { () throws(RedisError) in try primary.checkedPort() }.flatMap { port in
                            address(of: primary.host).map { .tcp(host: primary.host, address: $0, port: port) }
                        }
                    })
            }
        }
    }

    /// Whether `host` is an IPv4 or IPv6 address rather than a name.
    static func isIPLiteral(_ host: String) -> Bool {
        var buffer = in6_addr()
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }

    /// `host` itself if it is an IP address, else what it resolves to; blocks (off every connection's queue).
    static func address(of host: String) -> Result<String, RedisError> {
        isIPLiteral(host) ? .success(host) : lookUp(host)
    }

    private static func lookUp(_ host: String) -> Result<String, RedisError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let list else {
            return .failure(.connectionFailed("could not resolve '\(host)': \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var addresses: [(family: Int32, text: String)] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let family = current.pointee.ai_family
            if family == AF_INET, let address = current.pointee.ai_addr {
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    var raw = $0.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                }
                addresses.append((family, text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }))
            } else if family == AF_INET6, let address = current.pointee.ai_addr {
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    var raw = $0.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                }
                addresses.append((family, text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }))
            }
            entry = current.pointee.ai_next
        }
        guard let best = addresses.first(where: { $0.family == AF_INET }) ?? addresses.first else {
            return .failure(.connectionFailed("'\(host)' has no IPv4 or IPv6 address"))
        }
        return .success(best.text)
    }
}
