import CHiredis
import Dispatch

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
                let tunnelled = try Self.tunnelledContext(to: address.host, port: port, tls: tls, queue: queue, interval: interval, timeout: timeout)
                tunnel = (tunnelled.tunnel, queue)
                connected = tunnelled.context
            } else {
                connected = Self.closingOnExec(redisConnectWithTimeout(address.host, Int32(port), interval))
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
        _ = redisSetTimeout(connected, interval)
        context = connected
        self.tunnel = tunnel
    }

    deinit {
        redisFree(context)
        Self.close(tunnel)
    }

    /// `context`, its socket made close-on-exec in the turn that made it (a process started meanwhile by another
    /// thread must not inherit it).
    private static func closingOnExec(_ context: UnsafeMutablePointer<redisContext>?) -> UnsafeMutablePointer<redisContext>? {
        if let context { setCloseOnExec(context.pointee.fd) }
        return context
    }

    /// Closes `tunnel` on its queue, where every use of it runs.
    private static func close(_ tunnel: (tunnel: TLSTunnel, queue: DispatchQueue)?) {
        guard let (tunnel, queue) = tunnel else { return }
        queue.sync { tunnel.close() }
    }

    /// A tunnel that connected to `host` (resolved here) and completed its TLS handshake within `timeout`, and a
    /// hiredis context on the local socket it relays to, made on the tunnel's queue in the same turn as the
    /// handshake's end (as an async connection's is).
    private static func tunnelledContext(
        to host: String, port: UInt16, tls: TLSContext, queue: DispatchQueue, interval: timeval, timeout: Duration
    ) throws(RedisError) -> (tunnel: TLSTunnel, context: UnsafeMutablePointer<redisContext>?) {
        let address = try HostResolver.address(of: host).get()
        let tunnel = try TLSTunnel(context: tls, host: host, queue: queue)
        let outcome = Locked<Result<HandedOverContext, RedisError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        queue.async {
            tunnel.connect(address: address, port: port, onFailure: { _ in }) { error in
                let attached = Result { () throws(RedisError) in
                    if let error { throw error }
                    var local: UnsafeMutablePointer<redisContext>?
                    do throws(RedisError) {
                        try tunnel.attachClient { path throws(RedisError) in local = closingOnExec(redisConnectUnixWithTimeout(path, interval)) }
                    } catch {
                        if let local { redisFree(local) }
                        throw error
                    }
                    return HandedOverContext(context: local)
                }
                outcome.withLock { $0 = attached }
                done.signal()
            }
        }
        let isInTime = done.wait(timeout: .now() + timeout.dispatchInterval) == .success
        if !isInTime {
            // No completion after the close; one that came meanwhile may have made a context.
            close((tunnel, queue))
            if case .success(let handedOver) = outcome.withLock({ $0 }), let local = handedOver.context { redisFree(local) }
            throw .connectTimeout(timeout)
        }
        switch outcome.withLock({ $0 }) {
        case .success(let handedOver)?: return (tunnel, handedOver.context)
        case .failure(let error)?:
            close((tunnel, queue))
            throw error
        case nil: preconditionFailure("the handshake signalled without an outcome")
        }
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

/// A hiredis context made on the tunnel's queue, handed to the thread that waits for it, which owns it from then
/// on: the queue never touches it again.
private struct HandedOverContext: @unchecked Sendable {
    let context: UnsafeMutablePointer<redisContext>?
}
