import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A short-lived connection with hiredis's blocking API, for the questions asked off every connection's
/// queue (on a global queue, as ``HostResolver`` runs `getaddrinfo`): which primary Sentinel names, whether a
/// seed node answers again. Connecting and every reply are bounded by `timeout`.
///
/// Commands are encoded by ``CommandEncoder`` (exact bytes, NULs included) and written with `MSG_NOSIGNAL`, as
/// ``TLSTunnel`` writes: hiredis's own write(2) would raise SIGPIPE on a socket the server closed. hiredis only
/// reads the replies.
struct BlockingConnection: ~Copyable {
    private let context: UnsafeMutablePointer<redisContext>
    private let encoder = CommandEncoder()

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
            let reason = Self.contextError(of: context)
            redisFree(context)
            throw BlockingConnectionError(description: reason)
        }
        setCloseOnExec(context.pointee.fd)
        _ = redisSetTimeout(context, interval)
        self.context = context
    }

    deinit {
        redisFree(context)
    }

    /// Sends `arguments` and copies the reply; an error reply is a value, a failed connection throws.
    func command(_ arguments: [RESPArgument]) throws(BlockingConnectionError) -> RedisValue {
        let socket = context.pointee.fd
        if let failure = encoder.withEncoded(arguments, { Self.sendAll($0, $1, to: socket) }) { throw failure }
        // The output buffer is empty, so this only reads.
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw BlockingConnectionError(description: Self.contextError(of: context))
        }
        defer { freeReplyObject(raw) }
        return RedisValue(copying: raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Writes all `length` bytes; the error if the socket fails or the send timeout passes.
    private static func sendAll(_ bytes: UnsafePointer<CChar>, _ length: Int, to socket: Int32) -> BlockingConnectionError? {
        var offset = 0
        while offset < length {
            let sent = send(socket, bytes + offset, length - offset, Int32(MSG_NOSIGNAL))
            if sent > 0 {
                offset += sent
            } else if sent < 0, errno == EINTR {
                continue
            } else {
                let timedOut = sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                return BlockingConnectionError(description: timedOut ? "the write timed out" : errorText())
            }
        }
        return nil
    }

    private static func contextError(of context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// Why a ``BlockingConnection`` failed, as hiredis says it.
struct BlockingConnectionError: Error, CustomStringConvertible {
    let description: String
}
