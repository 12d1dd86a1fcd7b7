/// One argument of a Redis command, sent binary-safe.
public enum RESPArgument: Sendable, Hashable, ExpressibleByStringLiteral {
    /// Text, sent as its UTF-8 bytes.
    case string(String)
    /// Raw bytes, sent as they are (NUL bytes and invalid UTF-8 included).
    case bytes([UInt8])

    /// Text, sent as its UTF-8 bytes.
    public init(stringLiteral value: String) {
        self = .string(value)
    }

    /// An integer, sent in decimal.
    public init(_ value: Int) {
        self = .string(String(value))
    }

    /// A duration in whole milliseconds (at least 1), for `PX`, `PEXPIRE` and scripts.
    public static func milliseconds(_ duration: Duration) -> RESPArgument {
        RESPArgument(duration.expiryMilliseconds)
    }

    /// The bytes sent.
    var bytes: [UInt8] {
        switch self {
        case .string(let text): Array(text.utf8)
        case .bytes(let bytes): bytes
        }
    }

    var byteCount: Int {
        switch self {
        case .string(let text): text.utf8.count
        case .bytes(let bytes): bytes.count
        }
    }
}
