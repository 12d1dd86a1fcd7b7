import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A short-lived connection with hiredis's blocking API, for the questions asked off every connection's
/// queue (on a global queue, as ``HostResolver`` runs `getaddrinfo`): which primary Sentinel names, whether a
/// seed node answers again. Connecting and every reply are bounded by `timeout`.
struct BlockingConnection: ~Copyable {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects to `address`; the error is hiredis's reason.
    init(to address: RedisAddress, timeout: Duration) throws(BlockingConnectionError) {
        let interval = timeval(
            tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        let port: UInt16
        do throws(RedisError) {
            port = try address.checkedPort()
        } catch {
            throw BlockingConnectionError(description: "\(error)")
        }
        guard let context = redisConnectWithTimeout(address.host, Int32(port), interval) else {
            throw BlockingConnectionError(description: "out of memory")
        }
        guard context.pointee.err == 0 else {
            let reason = Self.errorText(of: context)
            redisFree(context)
            throw BlockingConnectionError(description: reason)
        }
        _ = redisSetTimeout(context, interval)
        self.context = context
    }

    deinit {
        redisFree(context)
    }

    /// Sends `arguments` and copies the reply; an error reply is a value, a failed connection throws.
    func command(_ arguments: [String]) throws(BlockingConnectionError) -> RedisValue {
        let strings = arguments.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        var pointers = strings.map { UnsafePointer($0) }
        let lengths = arguments.map { $0.utf8.count }
        guard let raw = redisCommandArgv(context, Int32(arguments.count), &pointers, lengths) else {
            throw BlockingConnectionError(description: Self.errorText(of: context))
        }
        defer { freeReplyObject(raw) }
        return RedisValue(copying: raw.assumingMemoryBound(to: redisReply.self))
    }

    private static func errorText(of context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// Why a ``BlockingConnection`` failed, as hiredis says it.
struct BlockingConnectionError: Error, CustomStringConvertible {
    let description: String
}
