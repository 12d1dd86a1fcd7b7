/// What a subscription yields.
public enum RedisSubscriptionEvent: Sendable, Hashable {
    /// A message published to the channel, byte for byte.
    case message([UInt8])
    /// The subscriber connection dropped and is subscribed again: messages published in between were lost
    /// (Redis pub/sub is at-most-once).
    case resubscribed
}
