import CHiredis

/// A message on a subscribed connection.
enum PushMessage {
    case message(channel: String, payload: [UInt8])
    case subscribed(channel: String)
    case unsubscribed(channel: String)

    /// Copies a push out of hiredis's reply (valid only during its callback); `nil` for anything that is not a
    /// `message`, `subscribe` or `unsubscribe` push.
    init?(copying reply: UnsafePointer<redisReply>) {
        let push = reply.pointee
        guard push.type == REDIS_REPLY_ARRAY, push.elements >= 3,
            let kind = push.element[0]?.pointee, let name = push.element[1]?.pointee,
            let payload = push.element[2]?.pointee, let first = kind.str?.pointee
        else { return nil }
        let channel = RedisValue.text(of: name)
        // The kind by its length and first letter, case-insensitively: no string is made for it.
        switch (kind.len, UInt8(bitPattern: first) | 0x20) {
        case (7, UInt8(ascii: "m")): self = .message(channel: channel, payload: RedisValue.bytes(of: payload))
        case (9, UInt8(ascii: "s")): self = .subscribed(channel: channel)
        case (11, UInt8(ascii: "u")): self = .unsubscribed(channel: channel)
        default: return nil
        }
    }

    /// Whether this push confirms a `SUBSCRIBE` or `UNSUBSCRIBE` the connection waits for.
    var isConfirmation: Bool {
        if case .message = self { return false }
        return true
    }
}
