import COpenSSL
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TLS for one hiredis connection, which has none of its own in 0.14: the tunnel connects to the server,
/// runs the TLS handshake, then hands hiredis a plain local socket (``LocalSocketHandover``) and relays
/// between the two, decrypting and encrypting on the connection's queue.
///
/// OpenSSL works on memory buffers (two memory BIOs), and the tunnel does every socket read and write itself
/// with `MSG_NOSIGNAL`, so a write to a closed socket never raises SIGPIPE. Each direction holds at most one
/// buffer of bytes that the other side has not taken: the tunnel stops reading from a side while the other is
/// behind, so a slow reader slows the writer, as a plain socket would.
///
/// - Important: Every method runs on `queue`, the connection's serial executor, and so do the socket
///   watchers' handlers.
final class TLSTunnel {
    private enum Phase {
        case connecting
        case handshaking
        /// Handshake done, waiting for ``attachClient(_:)``.
        case established
        case relaying
        case closed
    }

    /// The most plaintext or ciphertext one direction holds before the tunnel stops reading its source.
    private static let bufferLimit = 256 * 1024

    private let queue: DispatchQueue
    private let session: OpaquePointer
    /// Ciphertext from the server, for OpenSSL to read.
    private let incoming: OpaquePointer
    /// Ciphertext OpenSSL wrote, for the server.
    private let outgoing: OpaquePointer
    private let verification: RedisTLSConfiguration.Verification
    private var phase = Phase.connecting
    private var serverSocket: Int32 = -1
    private var serverReadable: SocketWatcher?
    private var serverWritable: SocketWatcher?
    private var clientSocket: Int32 = -1
    private var clientReadable: SocketWatcher?
    private var clientWritable: SocketWatcher?
    private var toServer = ByteQueue()
    private var toClient = ByteQueue()
    private var serverClosed = false
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var onConnected: ((RedisError?) -> Void)?
    private var onFailure: ((RedisError) -> Void)?

    /// A tunnel that will present `context`'s configuration to `host` (the name the user gave, for SNI and
    /// the certificate check).
    init(context: TLSContext, host: String, queue: DispatchQueue) throws(RedisError) {
        self.queue = queue
        session = try context.makeSession(host: host)
        verification = context.configuration.verification
        guard let incoming = BIO_new(BIO_s_mem()), let outgoing = BIO_new(BIO_s_mem()) else {
            SSL_free(session)
            throw .tls("could not create TLS buffers")
        }
        self.incoming = incoming
        self.outgoing = outgoing
        // The session owns both buffers from here on.
        SSL_set_bio(session, incoming, outgoing)
    }

    deinit {
        SSL_free(session)
    }

    /// Connects to `address` and runs the handshake; `completion` runs once, with `nil` when the tunnel is
    /// ready for ``attachClient(_:)``. Later failures go to `onFailure`, once.
    func connect(
        address: String, port: UInt16, onFailure: @escaping (RedisError) -> Void, completion: @escaping (RedisError?) -> Void
    ) {
        self.onFailure = onFailure
        onConnected = completion
        do throws(RedisError) {
            serverSocket = try Self.connectingSocket(to: address, port: port)
            serverReadable = SocketWatcher(serverSocket, .readable, queue: queue) { [self] in serverReady() }
            serverWritable = SocketWatcher(serverSocket, .writable, queue: queue) { [self] in serverReady() }
            guard serverReadable != nil, serverWritable != nil else { throw .connectionFailed("could not watch the socket: \(errorText())") }
            // Connect completion shows as writability.
            serverWritable?.isEnabled = true
        } catch {
            fail(error)
        }
    }

    /// Lets `connect` connect a plain client (hiredis) to a local socket whose other end the tunnel relays;
    /// only after `connect`'s completion reported success.
    func attachClient(_ connect: (_ socketPath: String) throws(RedisError) -> Void) throws(RedisError) {
        precondition(phase == .established, "attachClient before the handshake completed")
        clientSocket = try LocalSocketHandover.acceptClient(connect)
        clientReadable = SocketWatcher(clientSocket, .readable, queue: queue) { [self] in pump() }
        clientWritable = SocketWatcher(clientSocket, .writable, queue: queue) { [self] in pump() }
        guard clientReadable != nil, clientWritable != nil else { throw .connectionFailed("could not watch the local socket: \(errorText())") }
        phase = .relaying
        pump()
    }

    /// Closes both sockets and reports nothing more; safe to call in any phase, any number of times.
    func close() {
        guard phase != .closed else { return }
        phase = .closed
        onConnected = nil
        onFailure = nil
        for watcher in [serverReadable, serverWritable, clientReadable, clientWritable] { watcher?.cancel() }
        if serverSocket >= 0 { closeDescriptor(serverSocket) }
        if clientSocket >= 0 { closeDescriptor(clientSocket) }
        serverSocket = -1
        clientSocket = -1
    }

    // MARK: connecting and the handshake

    private func serverReady() {
        switch phase {
        case .connecting: finishConnecting()
        case .handshaking: handshake()
        case .relaying: pump()
        case .established, .closed: break
        }
    }

    private func finishConnecting() {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(serverSocket, SOL_SOCKET, SO_ERROR, &code, &length) == 0, code == 0 else {
            return fail(.connectionFailed(errorText(code == 0 ? errno : code)))
        }
        phase = .handshaking
        serverWritable?.isEnabled = false
        handshake()
    }

    private func handshake() {
        guard receiveFromServer() else { return }
        ERR_clear_error()
        let result = SSL_do_handshake(session)
        collectOutgoing()
        guard sendToServer() else { return }
        if result == 1 {
            phase = .established
            updateWatchers()
            let completion = onConnected
            onConnected = nil
            completion?(nil)
            return
        }
        guard SSL_get_error(session, result) == SSL_ERROR_WANT_READ, !serverClosed else {
            return fail(handshakeError())
        }
        updateWatchers()
    }

    private func handshakeError() -> RedisError {
        let verified = SSL_get_verify_result(session)
        if verification == .full, verified != Int(X509_V_OK) {
            return .tls("the server's certificate was refused: \(String(cString: X509_verify_cert_error_string(Int(verified))))")
        }
        if ERR_peek_error() == 0, serverClosed {
            return .tls("the server closed the connection during the handshake (is it a TLS port?)")
        }
        return .tls("the handshake failed: \(TLSContext.lastError())")
    }

    // MARK: relaying

    /// Moves bytes both ways until neither socket takes or gives more, then watches what is needed to go on.
    private func pump() {
        var rounds = 0
        var progressed = true
        while phase == .relaying, progressed, rounds < 16 {
            rounds += 1
            guard receiveFromServer() else { return }
            let decrypted = decryptForClient()
            guard phase == .relaying else { return }
            let delivered = sendToClient()
            guard phase == .relaying else { return }
            let encrypted = encryptFromClient()
            guard phase == .relaying, sendToServer() else { return }
            if serverClosed, toClient.isEmpty {
                return fail(.connectionLost("the server closed the connection"))
            }
            progressed = decrypted || delivered || encrypted
        }
        guard phase == .relaying else { return }
        updateWatchers()
        // Stopped by the round limit, so that the queue's other work runs: OpenSSL may still hold bytes that no
        // socket will announce, so go on in a later turn.
        if progressed { queue.async { [self] in pump() } }
    }

    /// Reads the ciphertext the server sent into OpenSSL (unless the client is behind); `false` if the
    /// tunnel failed.
    private func receiveFromServer() -> Bool {
        while !serverClosed, toClient.count < Self.bufferLimit, BIO_ctrl_pending(incoming) < Self.bufferLimit {
            let received = buffer.withUnsafeMutableBytes { recv(serverSocket, $0.baseAddress, $0.count, 0) }
            if received > 0 {
                _ = buffer.withUnsafeBytes { BIO_write(incoming, $0.baseAddress, Int32(received)) }
                if received < buffer.count { break }
            } else if received == 0 {
                serverClosed = true
            } else if socketWouldBlock() {
                break
            } else {
                fail(.connectionLost(errorText()))
                return false
            }
        }
        return true
    }

    /// Decrypts what OpenSSL holds into the client's queue; whether anything was added.
    private func decryptForClient() -> Bool {
        var added = false
        while toClient.count < Self.bufferLimit {
            ERR_clear_error()
            let count = buffer.withUnsafeMutableBytes { SSL_read(session, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                buffer.withUnsafeBytes { toClient.append(UnsafeRawBufferPointer(rebasing: $0[..<Int(count)])) }
                added = true
                continue
            }
            switch SSL_get_error(session, count) {
            case SSL_ERROR_WANT_READ: break
            case SSL_ERROR_ZERO_RETURN: serverClosed = true
            default: fail(.tls("reading from the server failed: \(TLSContext.lastError())"))
            }
            break
        }
        // Reading may have produced a reply for the server (a key update, an alert).
        collectOutgoing()
        return added
    }

    /// Writes decrypted bytes to the client; whether any were written.
    private func sendToClient() -> Bool {
        var wrote = false
        while !toClient.isEmpty {
            let sent = toClient.drain { send(clientSocket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                wrote = true
            } else if socketWouldBlock() {
                break
            } else {
                // hiredis closed its end: the connection is being torn down on purpose.
                close()
                break
            }
        }
        return wrote
    }

    /// Reads what the client wrote and encrypts it for the server (unless the server is behind); whether
    /// anything was read.
    private func encryptFromClient() -> Bool {
        var read = false
        while toServer.count < Self.bufferLimit {
            let received = buffer.withUnsafeMutableBytes { recv(clientSocket, $0.baseAddress, $0.count, 0) }
            if received > 0 {
                read = true
                var offset = 0
                while offset < received {
                    ERR_clear_error()
                    let written = buffer.withUnsafeBytes {
                        SSL_write(session, $0.baseAddress! + offset, Int32(received - offset))
                    }
                    guard written > 0 else {
                        fail(.tls("writing to the server failed: \(TLSContext.lastError())"))
                        return read
                    }
                    offset += Int(written)
                }
                collectOutgoing()
            } else if received == 0 {
                // hiredis closed its end (a disconnect or a free): say goodbye to the server, best effort.
                SSL_shutdown(session)
                collectOutgoing()
                _ = sendToServer()
                close()
                return read
            } else if socketWouldBlock() {
                break
            } else {
                close()
                return read
            }
        }
        return read
    }

    /// Moves the ciphertext OpenSSL wrote into the server's queue.
    private func collectOutgoing() {
        while BIO_ctrl_pending(outgoing) > 0 {
            let count = buffer.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else { break }
            buffer.withUnsafeBytes { toServer.append(UnsafeRawBufferPointer(rebasing: $0[..<Int(count)])) }
        }
    }

    /// Writes queued ciphertext to the server; `false` if the tunnel failed.
    private func sendToServer() -> Bool {
        while !toServer.isEmpty {
            let sent = toServer.drain { send(serverSocket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 { continue }
            if socketWouldBlock() { break }
            fail(.connectionLost(errorText()))
            return false
        }
        return true
    }

    private func updateWatchers() {
        serverReadable?.isEnabled = !serverClosed && toClient.count < Self.bufferLimit
        serverWritable?.isEnabled = !toServer.isEmpty
        clientReadable?.isEnabled = phase == .relaying && toServer.count < Self.bufferLimit
        clientWritable?.isEnabled = phase == .relaying && !toClient.isEmpty
    }

    private func fail(_ error: RedisError) {
        let connected = onConnected
        let failure = onFailure
        close()
        if let connected { connected(error) } else { failure?(error) }
    }

    // MARK: the socket

    /// A non-blocking TCP socket connecting to `address` (an IP literal) with Nagle off and hiredis's
    /// keepalive settings (idle 15 s, then 3 probes 5 s apart).
    private static func connectingSocket(to address: String, port: UInt16) throws(RedisError) -> Int32 {
        var storage = sockaddr_storage()
        let length: Int
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET, address, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: v4) { Array($0) }) }
            length = MemoryLayout<sockaddr_in>.size
        } else if inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: v6) { Array($0) }) }
            length = MemoryLayout<sockaddr_in6>.size
        } else {
            throw .connectionFailed("'\(address)' is not an IP address")
        }
        let descriptor = socket(Int32(storage.ss_family), closeOnExecStreamSocket, 0)
        guard descriptor >= 0 else { throw .connectionFailed("could not create a socket: \(errorText())") }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        let tcp = Int32(IPPROTO_TCP)
        let options: [(level: Int32, option: Int32, value: Int32)] = [
            (tcp, TCP_NODELAY, 1), (SOL_SOCKET, SO_KEEPALIVE, 1), (tcp, TCP_KEEPIDLE, 15), (tcp, TCP_KEEPINTVL, 5), (tcp, TCP_KEEPCNT, 3),
        ]
        for var setting in options {
            _ = setsockopt(descriptor, setting.level, setting.option, &setting.value, socklen_t(MemoryLayout<Int32>.size))
        }
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connectDescriptor(descriptor, $0, socklen_t(length)) }
        }
        guard status == 0 || errno == EINPROGRESS else {
            let reason = errorText()
            closeDescriptor(descriptor)
            throw .connectionFailed(reason)
        }
        return descriptor
    }
}

// Confined to the connection's serial queue: every method and every watcher handler runs there, and the
// OpenSSL session is only touched there.
extension TLSTunnel: @unchecked Sendable {}

/// Whether the socket call that just failed only has to wait for readiness (or was interrupted).
private func socketWouldBlock() -> Bool {
    errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
}

// The tunnel's own `close()` and `connect(...)` hide these inside the class.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

private func connectDescriptor(_ descriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(descriptor, address, length)
}
