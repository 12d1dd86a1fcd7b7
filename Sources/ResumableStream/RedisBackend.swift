import RedisBridge

extension RedisCommandConnection: ResumableStreamPublisher {
    public func setIfAbsent(_ key: String, to value: String, expiresIn: Duration) async throws -> Bool {
        let milliseconds = max(1, Int(expiresIn.components.seconds) * 1000 + Int(expiresIn.components.attoseconds / 1_000_000_000_000_000))
        return try await send(["SET", .string(key), .string(value), "NX", "PX", RESPArgument(milliseconds)]) != .null
    }

    public func increment(_ key: String) async throws -> Int? {
        do {
            return try await incr(key)
        } catch RedisError.server(let message) where message.hasPrefix(WireProtocol.notAnIntegerError) {
            return nil
        }
    }

    public func value(of key: String) async throws -> String? {
        try await get(key)
    }

    public func setValue(_ value: String, for key: String, expiresIn: Duration?) async throws {
        try await set(key, to: value, expiresIn: expiresIn)
    }

    public func setExpiry(of key: String, to duration: Duration) async throws {
        _ = try await expire(key, after: duration)
    }

    public func delete(_ key: String) async throws {
        _ = try await del([key])
    }

    public nonisolated func enqueuePublish(
        _ message: String, to channel: String, onReceivers: (@Sendable (Int?) -> Void)?
    ) {
        guard let onReceivers else { return publishWithoutWaiting(message, to: channel) }
        publishWithoutWaiting(message, to: channel) { result in onReceivers(try? result.get()) }
    }

    public nonisolated func enqueuePublish(
        _ message: String, toEach channels: [String], onReceivers: (@Sendable (String, Int?) -> Void)?
    ) {
        guard let onReceivers else { return publishWithoutWaiting(message, toEach: channels) }
        publishWithoutWaiting(message, toEach: channels) { channel, result in onReceivers(channel, try? result.get()) }
    }

    public func subscriberCount(of channel: String) async throws -> Int {
        guard case .array(let reply) = try await send(["PUBSUB", "NUMSUB", .string(channel)]),
              reply.count == 2, let count = reply[1].int
        else { throw RedisError.unexpectedReply("PUBSUB NUMSUB") }
        return count
    }
}

extension RedisSubscriberConnection: ResumableStreamSubscriber {
    public func textSubscription(to channel: String) async throws -> any AsyncSequence<ResumableStreamMessage, Never> & Sendable {
        let subscription: RedisSubscription = try await subscribe(to: channel)
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
