/// The pub/sub side of a ``ResumableStreamContext``: the Swift counterpart of the TypeScript package's
/// `Subscriber` interface. `RedisSubscriberConnection` (from `RedisBridge`) and ``InMemoryBackend`` conform.
public protocol ResumableStreamSubscriber: Sendable {
    /// Subscribes to `channel` and returns once the subscription is active, so that a message published
    /// after the return is received. The subscription ends when the returned sequence is dropped or its
    /// iterating task is cancelled.
    func textSubscription(to channel: String) async throws -> any AsyncSequence<ResumableStreamMessage, Never> & Sendable
}
