#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Every descriptor of the bridge is close-on-exec: a child process the host starts must not inherit an
// authenticated Redis connection.

/// Sets `FD_CLOEXEC` on a descriptor made without it: hiredis's sockets, and `accept`'s (Glibc's module here
/// has no `accept4`).
func setCloseOnExec(_ descriptor: Int32) {
    _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
}

/// `dup(descriptor)`, close-on-exec from the start (`dup` clears the flag); -1 on failure.
func duplicateCloseOnExec(_ descriptor: Int32) -> Int32 {
    fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
}

/// `SOCK_STREAM`, close-on-exec from the start, for `socket(2)`.
let closeOnExecStreamSocket = Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue)
