/// A subscription whose messages go to a callback (``ResumableStreamSubscriber/subscribe(to:work:receive:)``).
struct CallbackSubscription: Sendable {
    /// Ends the subscription; its receiver gets `nil` (at once or soon). Calling it again does nothing more.
    let cancel: @Sendable () -> Void
}

/// A subscriber that hands a channel's messages to a callback as it reads them, with no task in between: a
/// follower's relay then costs no task wake-up per message. `RedisSubscriberConnection` is one.
protocol CallbackSubscriber: ResumableStreamSubscriber {
    /// Subscribes to `channel` and returns once the subscription is active; `receive` gets its messages in
    /// order, as many at a time as one read brought, from one caller at a time, then `nil` once when it ended
    /// (nothing if this call threw). `receive` must not block.
    func callbackSubscription(
        to channel: String, receive: @escaping @Sendable ([ResumableStreamMessage]?) -> Void
    ) async throws -> CallbackSubscription
}

extension ResumableStreamSubscriber {
    /// Subscribes to `channel` and returns once the subscription is active; `receive` gets its messages in
    /// order, one or more at a time, then `nil` once when it ended (the connection closed, or it was
    /// cancelled). A subscriber that cannot call back (``CallbackSubscriber``) is read by a task of `work`.
    func subscribe(
        to channel: String, work: BackgroundWork, receive: @escaping @Sendable ([ResumableStreamMessage]?) -> Void
    ) async throws -> CallbackSubscription {
        if let calling = self as? any CallbackSubscriber { return try await calling.callbackSubscription(to: channel, receive: receive) }
        let messages = try await textSubscription(to: channel)
        let reader = work.start {
            for await message in messages { receive([message]) }
            receive(nil)
        }
        return CallbackSubscription { reader.cancel() }
    }
}
