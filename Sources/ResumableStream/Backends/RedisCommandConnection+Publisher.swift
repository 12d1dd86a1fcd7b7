import RedisBridge

extension RedisCommandConnection: ResumableStreamPublisher {
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

    /// KEYS: key, fence. ARGV: value, expiry in milliseconds, token.
    private static let fencedSetScript = """
        local fence = redis.call('GET', KEYS[2])
        if fence and fence ~= ARGV[3] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        if fence then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
        return 1
        """

    public func setValue(_ value: String, for key: String, expiresIn: Duration, fencedBy fence: String, token: String) async throws -> Bool {
        let reply = try await eval(Self.fencedSetScript, keys: [key, fence], arguments: [.string(value), .milliseconds(expiresIn), .string(token)])
        return reply.int == 1
    }

    /// KEYS: key, fence. ARGV: expiry in milliseconds, final value, token.
    private static let fencedExtendScript = """
        local fence = redis.call('GET', KEYS[2])
        if fence and fence ~= ARGV[3] then return 0 end
        if redis.call('GET', KEYS[1]) == ARGV[2] then return 0 end
        if fence then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
        return redis.call('PEXPIRE', KEYS[1], ARGV[1])
        """

    public func extendExpiry(of key: String, to duration: Duration, unlessItHolds finalValue: String, fencedBy fence: String, token: String) async throws -> Bool {
        let reply = try await eval(Self.fencedExtendScript, keys: [key, fence], arguments: [.milliseconds(duration), .string(finalValue), .string(token)])
        return reply.int == 1
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
