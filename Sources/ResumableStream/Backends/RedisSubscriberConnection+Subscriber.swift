import RedisBridge

extension RedisSubscriberConnection: CallbackSubscriber {
    public func textSubscription(to channel: String) async throws -> any AsyncSequence<ResumableStreamMessage, Never> & Sendable {
        let subscription =
            try await configuration.shardedPubSub ? subscribe(toShardChannel: channel) : subscribe(to: channel)
        return RedisTextSubscription(base: subscription)
    }

    func callbackSubscription(
        to channel: String, receive: @escaping @Sendable ([ResumableStreamMessage]?) -> Void
    ) async throws -> CallbackSubscription {
        let subscription = try await subscribe(to: channel, isShardChannel: configuration.shardedPubSub) { events in
            receive(events?.map(ResumableStreamMessage.init))
        }
        return CallbackSubscription(cancel: subscription.cancel)
    }
}

extension ResumableStreamMessage {
    /// A subscription's event as text: a message's bytes as UTF-8, a resubscription as a gap.
    init(_ event: RedisSubscriptionEvent) {
        switch event {
        case .message(let bytes): self = .message(String(decoding: bytes, as: UTF8.self))
        case .resubscribed: self = .gap
        }
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
            await base.next(isolation: actor).map(ResumableStreamMessage.init)
        }
    }
}
