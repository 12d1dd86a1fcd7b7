import RedisBridge

extension RedisSubscriberConnection: ResumableStreamSubscriber {
    public func textSubscription(to channel: String) async throws -> any AsyncSequence<ResumableStreamMessage, Never> & Sendable {
        let subscription =
            try await configuration.shardedPubSub ? subscribe(toShardChannel: channel) : subscribe(to: channel)
        return RedisTextSubscription(base: subscription)
    }
}

/// A ``RedisSubscription`` seen as text messages and gaps.
struct RedisTextSubscription: AsyncSequence, Sendable {
    typealias Element = ResumableStreamMessage
    typealias Failure = Never
    let base: RedisSubscription

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator()) }

    struct Iterator: AsyncIteratorProtocol {
        var base: RedisSubscription.AsyncIterator

        mutating func next() async -> ResumableStreamMessage? {
            await next(isolation: nil)
        }

        mutating func next(isolation actor: isolated (any Actor)?) async -> ResumableStreamMessage? {
            switch await base.next(isolation: actor) {
            case .message(let bytes): .message(String(decoding: bytes, as: UTF8.self))
            case .resubscribed: .gap
            case nil: nil
            }
        }
    }
}
