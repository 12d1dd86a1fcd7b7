/// An error from the Redis bridge. Messages never contain credentials.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configuration URL could not be used; the reason never repeats the password.
    case invalidURL(String)
    /// TLS could not be set up or failed: a certificate or key file that cannot be used, a server certificate
    /// that does not verify (expired, unknown CA, wrong name), or a TLS error on an established connection.
    /// The reason is OpenSSL's, and never contains key material.
    case tls(String)
    /// The TCP or unix-socket connection could not be established (refused, unreachable, name not resolved).
    case connectionFailed(String)
    /// Connecting (including AUTH and SELECT) took longer than the configured connect timeout.
    case connectTimeout(Duration)
    /// Redis rejected AUTH; the server's own message, which never contains the password.
    case authenticationFailed(String)
    /// Redis sent no reply for the configured command timeout while commands were pending; the connection was
    /// dropped and is being re-established. The command may or may not have run.
    case commandTimeout(Duration)
    /// The connection dropped while the command was in flight. The command may or may not have run, so it is
    /// never retried automatically (an `INCR` must not run twice).
    case connectionLost(String)
    /// Redis answered the command with an error reply, such as `ERR value is not an integer or out of range`.
    case server(String)
    /// The connection was closed by `close()`.
    case closed
    /// Redis answered with a reply of a type the command does not produce.
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .invalidURL(let reason): "invalid Redis URL: \(reason)"
        case .tls(let reason): "TLS with Redis failed: \(reason)"
        case .connectionFailed(let reason): "could not connect to Redis: \(reason)"
        case .connectTimeout(let timeout): "could not connect to Redis within \(timeout)"
        case .authenticationFailed(let reason): "Redis rejected authentication: \(reason)"
        case .commandTimeout(let timeout): "Redis sent no reply within \(timeout); the connection was reset"
        case .connectionLost(let reason): "the Redis connection was lost before the reply arrived: \(reason)"
        case .server(let message): "Redis error: \(message)"
        case .closed: "the Redis connection is closed"
        case .unexpectedReply(let reply): "unexpected Redis reply: \(reply)"
        }
    }
}
