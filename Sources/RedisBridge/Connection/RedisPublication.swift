/// One message to publish to each of some channels, for
/// ``RedisCommandConnection/publishWithoutWaiting(isShardChannel:taking:)``.
public struct RedisPublication: Sendable {
    /// The message.
    public var message: String
    /// The channels it goes to, in this order.
    public var channels: [String]
    /// Gets each channel with its number of receivers, or why the publish failed; `nil` discards the replies.
    public var onReceivers: (@Sendable (_ channel: String, Result<Int, RedisError>) -> Void)?

    /// A message to publish to each of `channels`.
    public init(
        _ message: String, toEach channels: [String],
        onReceivers: (@Sendable (_ channel: String, Result<Int, RedisError>) -> Void)? = nil
    ) {
        self.message = message
        self.channels = channels
        self.onReceivers = onReceivers
    }
}
