import CHiredis
import Dispatch
import Synchronization

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
///
/// With TLS (to sentinels that require it), a ``TLSTunnel`` on a queue of the connection's own connects and
/// runs the handshake, and hiredis's blocking context talks to it over a local socket, as an async connection
/// does.
struct BlockingConnection: ~Copyable {
    private let context: UnsafeMutablePointer<redisContext>
    private let encoder = CommandEncoder()
    /// The TLS tunnel and the queue it runs on, for a TLS connection.
    private let tunnel: (tunnel: TLSTunnel, queue: DispatchQueue)?

    /// Connects to `address`, through TLS with `tls`; the error is hiredis's or the tunnel's reason.
    init(to address: RedisAddress, tls: TLSContext? = nil, timeout: Duration) throws(BlockingConnectionError) {
        let interval = timeval(
            tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        var tunnel: (tunnel: TLSTunnel, queue: DispatchQueue)?
        let connected: UnsafeMutablePointer<redisContext>?
        do throws(RedisError) {
            let port = try address.checkedPort()
            if let tls {
                let queue = DispatchQueue(label: "redis.blocking-tls")
                let handshaken = try Self.handshake(with: address.host, port: port, tls: tls, queue: queue, timeout: timeout)
                tunnel = (handshaken, queue)
                connected = try queue.sync {
                    Result { () throws(RedisError) in
                        var local: UnsafeMutablePointer<redisContext>?
                        try handshaken.attachClient { path throws(RedisError) in local = redisConnectUnixWithTimeout(path, interval) }
                        return local
                    }
                }.get()
            } else {
                connected = redisConnectWithTimeout(address.host, Int32(port), interval)
            }
        } catch {
            Self.close(tunnel)
            throw BlockingConnectionError(description: "\(error)")
        }
        guard let connected, connected.pointee.err == 0 else {
            let reason = connected.map(Self.contextError(of:)) ?? "out of memory"
            if let connected { redisFree(connected) }
            Self.close(tunnel)
            throw BlockingConnectionError(description: reason)
        }
        setCloseOnExec(connected.pointee.fd)
        _ = redisSetTimeout(connected, interval)
        context = connected
        self.tunnel = tunnel
    }

    deinit {
        redisFree(context)
        Self.close(tunnel)
    }

    /// Closes `tunnel` on its queue, where every use of it runs.
    private static func close(_ tunnel: (tunnel: TLSTunnel, queue: DispatchQueue)?) {
        guard let (tunnel, queue) = tunnel else { return }
        queue.sync { tunnel.close() }
    }

    /// A tunnel connected to `host` (resolved here) that completed its TLS handshake within `timeout`.
    private static func handshake(
        with host: String, port: UInt16, tls: TLSContext, queue: DispatchQueue, timeout: Duration
    ) throws(RedisError) -> TLSTunnel {
        let address = try HostResolver.address(of: host).get()
        let tunnel = try TLSTunnel(context: tls, host: host, queue: queue)
        let outcome = Mutex<RedisError??>(nil)
        let done = DispatchSemaphore(value: 0)
        queue.async {
            tunnel.connect(address: address, port: port, onFailure: { _ in }) { error in
                outcome.withLock { $0 = .some(error) }
                done.signal()
            }
        }
        guard done.wait(timeout: .now() + timeout.dispatchInterval) == .success else {
            queue.sync { tunnel.close() }
            throw .connectTimeout(timeout)
        }
        if let error = outcome.withLock({ $0 }) ?? nil { throw error }
        return tunnel
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
