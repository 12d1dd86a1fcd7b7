/// The messages of one channel, as an `AsyncSequence`, from ``RedisSubscriberConnection/subscribe(to:)``.
///
/// The subscription ends (and, for the last local subscriber of the channel, `UNSUBSCRIBE` is sent) when the
/// iterating task is cancelled, when the sequence is dropped, or when the subscriber connection is closed,
/// after which iteration returns `nil`. Iterate it from one task.
public struct RedisSubscription: AsyncSequence, Sendable {
    /// What iteration yields.
    public typealias Element = RedisSubscriptionEvent
    /// The channel.
    public let channel: String
    /// Whether `channel` is a shard channel (``RedisSubscriberConnection/subscribe(toShardChannel:)``).
    public let isShardChannel: Bool
    let subscriberID: Int
    // Messages arrive in batches, one per socket read event: a yield per message costs half the throughput.
    let batches: AsyncStream<[RedisSubscriptionEvent]>

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(batches: batches.makeAsyncIterator())
    }

    /// Iterates the events of the subscription one at a time.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var batches: AsyncStream<[RedisSubscriptionEvent]>.AsyncIterator
        var batch: [RedisSubscriptionEvent] = []
        var index = 0

        /// The next event, or `nil` once the subscription ended.
        public mutating func next() async -> RedisSubscriptionEvent? {
            await next(isolation: nil)
        }

        /// The next event, or `nil` once the subscription ended, without leaving the caller's actor: an
        /// iteration from an actor would otherwise hop off and back on per message.
        public mutating func next(isolation actor: isolated (any Actor)?) async -> RedisSubscriptionEvent? {
            while index == batch.count {
                guard let next = await batches.next(isolation: actor) else { return nil }
                batch = next
                index = 0
            }
            defer { index += 1 }
            return batch[index]
        }
    }
}
