/// Asks Redis Sentinel for the address of a primary: one short-lived ``BlockingConnection`` to each sentinel in
/// turn until one answers, each bounded by `timeout` for connecting and for its replies (and its TLS handshake).
enum SentinelDiscovery {
    static func primaryAddress(_ configuration: RedisSentinelConfiguration, timeout: Duration) -> Result<RedisAddress, RedisError> {
        let tls: TLSContext?
        do throws(RedisError) {
            tls = try configuration.tls.map { tls throws(RedisError) in try TLSContext(tls) }
        } catch {
            return .failure(error)
        }
        var failures: [String] = []
        for sentinel in configuration.sentinels {
            do {
                return .success(try ask(sentinel, configuration, tls: tls, timeout: timeout))
            } catch {
                failures.append("\(sentinel.host):\(sentinel.port): \(error)")
            }
        }
        let reasons = failures.isEmpty ? "no sentinel is configured" : failures.joined(separator: "; ")
        return .failure(.connectionFailed("no sentinel named the primary '\(configuration.primaryName)': \(reasons)"))
    }

    private static func ask(
        _ sentinel: RedisAddress, _ configuration: RedisSentinelConfiguration, tls: TLSContext?, timeout: Duration
    ) throws(BlockingConnectionError) -> RedisAddress {
        let connection = try BlockingConnection(to: sentinel, tls: tls, timeout: timeout)
        if let password = configuration.password {
            let auth: [RESPArgument] = configuration.username.map { ["AUTH", .string($0), .string(password)] } ?? ["AUTH", .string(password)]
            if case .error(let message) = try connection.command(auth) { throw BlockingConnectionError(description: "AUTH: \(message)") }
        }
        return try primaryAddress(fromReply: try connection.command(["SENTINEL", "get-master-addr-by-name", .string(configuration.primaryName)]))
    }

    /// The primary's address in a reply to `SENTINEL get-master-addr-by-name`: `[host, port]`, the port in
    /// 1...65535 (a reply that is not, from a hostile sentinel or someone on the path, is refused).
    static func primaryAddress(fromReply reply: RedisValue) throws(BlockingConnectionError) -> RedisAddress {
        switch reply {
        case .array(let parts) where parts.count == 2:
            guard let host = parts[0].string, !host.isEmpty, let port = parts[1].string.flatMap({ Int($0) }) else {
                throw BlockingConnectionError(description: "an unexpected reply")
            }
            guard RedisAddress.validPorts.contains(port) else {
                throw BlockingConnectionError(description: "it named the primary with port \(port), out of range (\(RedisAddress.validPorts))")
            }
            return RedisAddress(host: host, port: port)
        case .null, .array: throw BlockingConnectionError(description: "it does not monitor this primary")
        case .error(let message): throw BlockingConnectionError(description: message)
        default: throw BlockingConnectionError(description: "an unexpected reply")
        }
    }
}
