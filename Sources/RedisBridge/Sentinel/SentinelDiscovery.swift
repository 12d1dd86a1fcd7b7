import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Asks Redis Sentinel for the address of a primary, with hiredis's blocking API on a thread of its own (as
/// ``HostResolver`` does with `getaddrinfo`): one short-lived connection to each sentinel in turn until one
/// answers, each bounded by `timeout` for connecting and for its replies.
enum SentinelDiscovery {
    static func primaryAddress(_ configuration: RedisSentinelConfiguration, timeout: Duration) -> Result<(host: String, port: Int), RedisError> {
        var failures: [String] = []
        for sentinel in configuration.sentinels {
            switch ask(sentinel, configuration, timeout: timeout) {
            case .success(let address): return .success(address)
            case .failure(let reason): failures.append("\(sentinel.host):\(sentinel.port): \(reason)")
            }
        }
        let reasons = failures.isEmpty ? "no sentinel is configured" : failures.joined(separator: "; ")
        return .failure(.connectionFailed("no sentinel named the primary '\(configuration.primaryName)': \(reasons)"))
    }

    private struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private static func ask(
        _ sentinel: RedisAddress, _ configuration: RedisSentinelConfiguration, timeout: Duration
    ) -> Result<(host: String, port: Int), Failure> {
        let interval = timeval(
            tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        guard let context = redisConnectWithTimeout(sentinel.host, Int32(sentinel.port), interval) else {
            return .failure(Failure(description: "out of memory"))
        }
        defer { redisFree(context) }
        guard context.pointee.err == 0 else { return .failure(Failure(description: errorText(of: context))) }
        _ = redisSetTimeout(context, interval)
        if let password = configuration.password {
            let auth = configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            switch command(auth, on: context) {
            case .error(let message): return .failure(Failure(description: "AUTH: \(message)"))
            case nil: return .failure(Failure(description: errorText(of: context)))
            default: break
            }
        }
        switch command(["SENTINEL", "get-master-addr-by-name", configuration.primaryName], on: context) {
        case .array(let parts) where parts.count == 2:
            guard let host = parts[0].string, let port = parts[1].string.flatMap({ Int($0) }) else {
                return .failure(Failure(description: "an unexpected reply"))
            }
            return .success((host, port))
        case .null, .array: return .failure(Failure(description: "it does not monitor this primary"))
        case .error(let message): return .failure(Failure(description: message))
        case nil: return .failure(Failure(description: errorText(of: context)))
        default: return .failure(Failure(description: "an unexpected reply"))
        }
    }

    /// Sends `arguments` and copies the reply; `nil` when the connection failed.
    private static func command(_ arguments: [String], on context: UnsafeMutablePointer<redisContext>) -> RedisValue? {
        let strings = arguments.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        var pointers = strings.map { UnsafePointer($0) }
        let lengths = arguments.map { $0.utf8.count }
        guard let raw = redisCommandArgv(context, Int32(arguments.count), &pointers, lengths) else { return nil }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return RedisValue(copying: reply)
    }

    private static func errorText(of context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
