/// A reply from Redis (RESP2), copied out of hiredis's reply memory.
public enum RedisValue: Sendable, Hashable {
    /// A status reply such as `OK` or `PONG`.
    case simpleString(String)
    /// A binary-safe bulk string.
    case bulkString([UInt8])
    /// An integer reply.
    case integer(Int)
    /// A nil bulk string or nil array.
    case null
    /// An array reply.
    case array([RedisValue])
    /// An error reply nested in an array (a top-level error reply is thrown as ``RedisError/server(_:)``).
    case error(String)

    /// The reply as text: bulk strings decoded as UTF-8 (invalid bytes become U+FFFD), status replies and
    /// integers as written; `nil` for null, arrays and errors.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .integer(let value): String(value)
        case .null, .array, .error: nil
        }
    }

    /// The reply as an integer: integer replies, and bulk or status strings that hold a decimal integer.
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int($0) }
        case .null, .array, .error: nil
        }
    }

    /// The raw bytes of a bulk or status string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        case .integer, .null, .array, .error: nil
        }
    }
}
