import CHiredis

/// What a subscriber connection hears from Redis, for its subscriptions.
enum PushMessage: Equatable {
    /// A message published to `channel` (`message`, or `smessage` for a sharded channel).
    case message(channel: String, payload: [UInt8])
    /// The server confirmed a subscription.
    case subscribed(channel: String)
    /// The server confirmed an unsubscription.
    case unsubscribed(channel: String)
    /// The server unsubscribed a sharded channel on its own: the channel's slot moved to another node (a
    /// migration, or a failover), where it must be subscribed again.
    case unsubscribedByServer(channel: String)
    /// The server refused the subscription command for `channels` with `error` (for a sharded channel,
    /// `MOVED <slot> <host>:<port>` when the node does not serve its slot).
    case refused(channels: [String], error: String)
}

/// A push as Redis sends it: its kind, channel and payload, copied out of hiredis's reply.
struct PushReply: Equatable {
    enum Kind: Equatable {
        case message
        /// The confirmation of a subscription command (or, for `sunsubscribe`, the server's own unsubscription).
        case confirmation(SubscriptionCommand)
    }

    let kind: Kind
    let channel: String
    /// The message's bytes; empty for a confirmation.
    let payload: [UInt8]

    /// Copies a push out of hiredis's reply (valid only during its callback); `nil` for anything that is not a
    /// message or a confirmation of classic or sharded pub/sub.
    init?(copying reply: UnsafePointer<redisReply>) {
        let push = reply.pointee
        guard push.type == REDIS_REPLY_ARRAY, push.elements >= 3,
            let kind = push.element[0]?.pointee, let name = push.element[1]?.pointee,
            let payload = push.element[2]?.pointee, let first = kind.str?.pointee
        else { return nil }
        // The kind by its length and first letter, case-insensitively: no string is made for it.
        switch (kind.len, UInt8(bitPattern: first) | 0x20) {
        case (7, UInt8(ascii: "m")), (8, UInt8(ascii: "s")): self.kind = .message
        case (9, UInt8(ascii: "s")): self.kind = .confirmation(.subscribe)
        case (11, UInt8(ascii: "u")): self.kind = .confirmation(.unsubscribe)
        case (10, UInt8(ascii: "s")): self.kind = .confirmation(.shardSubscribe)
        case (12, UInt8(ascii: "s")): self.kind = .confirmation(.shardUnsubscribe)
        default: return nil
        }
        channel = RedisValue.text(of: name)
        self.payload = self.kind == .message ? RedisValue.bytes(of: payload) : []
    }
}
