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

    /// KEYS: fence, then the keys to set. ARGV: token, then each key's value and expiry in milliseconds.
    private static let fencedSetScript = """
        local fence = redis.call('GET', KEYS[1])
        if fence and fence ~= ARGV[1] then return 0 end
        for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[2 * i - 2], 'PX', ARGV[2 * i - 1]) end
        if fence then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
        return 1
        """

    public func setValues(_ values: [(key: String, value: String, expiresIn: Duration)], fencedBy fence: String, token: String) async throws -> Bool {
        var arguments: [RESPArgument] = [.string(token)]
        for entry in values { arguments += [.string(entry.value), .milliseconds(entry.expiresIn)] }
        let reply = try await eval(Self.fencedSetScript, keys: [fence] + values.map(\.key), arguments: arguments)
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
