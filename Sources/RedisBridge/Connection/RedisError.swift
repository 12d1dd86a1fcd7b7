/// An error from the Redis bridge: what went wrong (its ``code``, to compare with or switch over), and why.
/// Messages never contain credentials.
///
/// ```
/// catch let error as RedisError where error.code == .commandTimeout
/// ```
///
/// New codes may come in any release, so a `switch` over ``code`` needs a `default`.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidURL, tls, connectionFailed, connectTimeout, authenticationFailed, commandTimeout, connectionLost, server, closed
            case unexpectedReply
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The configuration URL could not be used.
        public static let invalidURL = Code(.invalidURL)
        /// TLS could not be set up or failed: a certificate or key file that cannot be used, a server certificate
        /// that does not verify (expired, unknown CA, wrong name), or a TLS error on an established connection.
        public static let tls = Code(.tls)
        /// The TCP or unix-socket connection could not be established (refused, unreachable, name not resolved,
        /// no sentinel that names the primary).
        public static let connectionFailed = Code(.connectionFailed)
        /// Connecting (including AUTH and SELECT) took longer than the configured connect timeout.
        public static let connectTimeout = Code(.connectTimeout)
        /// Redis rejected AUTH.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// Redis sent no reply for the configured command timeout while commands were pending; the connection was
        /// dropped and is being re-established. The command may or may not have run.
        public static let commandTimeout = Code(.commandTimeout)
        /// The connection dropped while the command was in flight. The command may or may not have run, so it is
        /// never retried automatically (an `INCR` must not run twice).
        public static let connectionLost = Code(.connectionLost)
        /// Redis answered the command with an error reply, such as `ERR value is not an integer or out of range`.
        public static let server = Code(.server)
        /// The connection was closed by `close()`.
        public static let closed = Code(.closed)
        /// Redis answered with a reply of a type the command does not produce.
        public static let unexpectedReply = Code(.unexpectedReply)

        /// The code's name, as in `commandTimeout`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// Why, in words: OpenSSL's, hiredis's or the server's own reason, or what the library saw; empty where the
    /// code says it all. Never contains a password or key material.
    public let reason: String
    /// For ``Code/connectTimeout`` and ``Code/commandTimeout``: the timeout that passed.
    public let timeout: Duration?

    private init(_ code: Code, _ reason: String = "", timeout: Duration? = nil) {
        self.code = code
        self.reason = reason
        self.timeout = timeout
    }

    /// The configuration URL could not be used; the reason never repeats the password.
    public static func invalidURL(_ reason: String) -> RedisError { RedisError(.invalidURL, reason) }
    /// TLS could not be set up or failed; the reason is OpenSSL's.
    public static func tls(_ reason: String) -> RedisError { RedisError(.tls, reason) }
    /// The connection could not be established.
    public static func connectionFailed(_ reason: String) -> RedisError { RedisError(.connectionFailed, reason) }
    /// Connecting took longer than `timeout`.
    public static func connectTimeout(_ timeout: Duration) -> RedisError { RedisError(.connectTimeout, timeout: timeout) }
    /// Redis rejected AUTH with this message (which never contains the password).
    public static func authenticationFailed(_ message: String) -> RedisError { RedisError(.authenticationFailed, message) }
    /// Redis sent no reply for `timeout` while commands were pending.
    public static func commandTimeout(_ timeout: Duration) -> RedisError { RedisError(.commandTimeout, timeout: timeout) }
    /// The connection dropped while the command was in flight.
    public static func connectionLost(_ reason: String) -> RedisError { RedisError(.connectionLost, reason) }
    /// Redis answered with this error reply.
    public static func server(_ message: String) -> RedisError { RedisError(.server, message) }
    /// The connection was closed by `close()`.
    public static let closed = RedisError(.closed)
    /// Redis answered with a reply of a type the command does not produce; `reply` says which.
    public static func unexpectedReply(_ reply: String) -> RedisError { RedisError(.unexpectedReply, reply) }

    public var description: String {
        let timeout = timeout.map { "\($0)" } ?? "the timeout"
        return switch code {
        case .invalidURL: "invalid Redis URL: \(reason)"
        case .tls: "TLS with Redis failed: \(reason)"
        case .connectionFailed: "could not connect to Redis: \(reason)"
        case .connectTimeout: "could not connect to Redis within \(timeout)"
        case .authenticationFailed: "Redis rejected authentication: \(reason)"
        case .commandTimeout: "Redis sent no reply within \(timeout); the connection was reset"
        case .connectionLost: "the Redis connection was lost before the reply arrived: \(reason)"
        case .server: "Redis error: \(reason)"
        case .closed: "the Redis connection is closed"
        case .unexpectedReply: "unexpected Redis reply: \(reason)"
        default: "Redis \(code): \(reason)"
        }
    }
}
