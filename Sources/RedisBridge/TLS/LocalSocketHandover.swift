#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gives hiredis a plain local socket whose other end the TLS tunnel holds.
///
/// hiredis 0.14 can only create an async context by connecting (it cannot adopt a descriptor), so the tunnel
/// listens on a unix socket in a new directory only this user can enter, lets hiredis connect to it, accepts
/// that one connection and removes the socket and the directory at once. The connect completes synchronously
/// (the kernel queues it in the listener's backlog), so all of it runs in one turn of the connection's queue.
/// A connection from any other process (which would get the plaintext) is refused.
enum LocalSocketHandover {
    /// Calls `connect` with the path of a fresh listening socket and returns the accepted end of the connection
    /// it made, non-blocking.
    static func acceptClient(_ connect: (_ socketPath: String) throws(RedisError) -> Void) throws(RedisError) -> Int32 {
        let directory = try makePrivateDirectory()
        let path = directory + "/redis.sock"
        defer {
            unlink(path)
            rmdir(directory)
        }
        let listener = socket(AF_UNIX, closeOnExecStreamSocket, 0)
        guard listener >= 0 else { throw .connectionFailed("could not create a local socket: \(errorText())") }
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let fits = withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            let bytes = Array(path.utf8)
            guard bytes.count < buffer.count else { return false }
            buffer.copyBytes(from: bytes)
            return true
        }
        guard fits else { throw .connectionFailed("the local socket path \(path) is too long") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 1) == 0 else {
            throw .connectionFailed("could not listen on a local socket: \(errorText())")
        }
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
        try connect(path)
        let accepted = accept(listener, nil, nil)
        guard accepted >= 0 else { throw .connectionFailed("the local connection was not made: \(errorText())") }
        setCloseOnExec(accepted)
        do {
            try checkPeer(of: accepted)
        } catch {
            close(accepted)
            throw error
        }
        _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
        return accepted
    }

    /// Refuses a local connection that does not come from this very process (`SO_PEERCRED`: same effective
    /// user and same process id), as the plaintext end of a TLS connection is hiredis's alone.
    static func checkPeer(of descriptor: Int32) throws(RedisError) {
        // `struct ucred`, which Glibc's module does not export: pid_t, uid_t, gid_t.
        var credentials: (pid: pid_t, uid: uid_t, gid: gid_t) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else {
            throw .connectionFailed("could not identify the local connection's peer: \(errorText())")
        }
        guard credentials.pid == getpid(), credentials.uid == geteuid() else {
            throw .connectionFailed("the local connection came from another process (pid \(credentials.pid)): refused")
        }
    }

    /// Where the private directories go: `TMPDIR`, or `/tmp` when that path would not fit a socket address.
    static var directoryBase: String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? ""
        return base.isEmpty || base.utf8.count > 60 ? "/tmp" : base
    }

    /// The start of every private directory's name.
    static let directoryPrefix = "resumable-stream-tls-"

    /// A new directory with mode 0700 under ``directoryBase``.
    private static func makePrivateDirectory() throws(RedisError) -> String {
        let base = directoryBase
        var template = Array("\(base)/\(directoryPrefix)XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw .connectionFailed("could not create a private directory in \(base): \(errorText())")
        }
        return String(cString: created)
    }
}

/// `strerror(errno)` as a string.
func errorText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
