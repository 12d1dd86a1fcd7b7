import RedisBridge

extension RedisCommandConnection: ResumableStreamPublisher {
    public func increment(_ key: String) async throws -> Int? {
        do {
            return try await incr(key)
        } catch RedisError.server(let message) where message.hasPrefix(WireProtocol.notAnIntegerError) {
            return nil
        }
    }

    /// KEYS: key, flag. ARGV: value, expiry in milliseconds. 0: not created; 1: created; 2: created, and the
    /// flag exists.
    private static let claimScript = """
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
        return 1 + redis.call('EXISTS', KEYS[2])
        """

    public func setIfAbsent(_ key: String, to value: String, expiresIn: Duration, checking flag: String) async throws -> (
        created: Bool, flagExists: Bool
    ) {
        let reply = try await eval(Self.claimScript, keys: [key, flag], arguments: [.string(value), .milliseconds(expiresIn)])
        guard let outcome = reply.int, (0...2).contains(outcome) else { throw RedisError.unexpectedReply("claim script") }
        return (outcome > 0, outcome == 2)
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

    public func extendExpiry(of key: String, to duration: Duration, unlessItHolds finalValue: String, fencedBy fence: String, token: String)
        async throws -> Bool
    {
        let reply = try await eval(
            Self.fencedExtendScript, keys: [key, fence], arguments: [.milliseconds(duration), .string(finalValue), .string(token)])
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

    /// KEYS: log. ARGV: id, offset, field (`t` for text, `e` for the end mark), text, expiry in milliseconds.
    private static let logAppendScript = """
        local added = redis.pcall('XADD', KEYS[1], ARGV[1], 'o', ARGV[2], ARGV[3], ARGV[4])
        if type(added) == 'table' and added.err and not string.find(added.err, 'equal or smaller') then
            return redis.error_reply(added.err)
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        return 1
        """

    public func appendToLog(_ entry: StreamLogEntry, at key: String, expiresIn: Duration) async throws {
        _ = try await eval(
            Self.logAppendScript, keys: [key],
            arguments: [
                .string(entry.id), .string(String(entry.offset)), .string(entry.isEnd ? "e" : "t"), .string(entry.text),
                .milliseconds(expiresIn),
            ])
    }

    public func logEntries(at key: String, after offset: Int, limit: Int?) async throws -> [StreamLogEntry] {
        var command: [RESPArgument] = ["XRANGE", .string(key), .string("\(offset)-1"), "+"]
        if let limit { command += ["COUNT", .string(String(limit))] }
        guard case .array(let entries) = try await send(command) else { throw RedisError.unexpectedReply("XRANGE") }
        return try entries.map { entry in
            // [id, [field, value, ...]]
            guard case .array(let parts) = entry, parts.count == 2, case .array(let fields) = parts[1], fields.count == 4,
                fields[0].string == "o", let start = fields[1].int, let kind = fields[2].string
            else { throw RedisError.unexpectedReply("XRANGE entry") }
            return kind == "e" ? .end(length: start) : StreamLogEntry(offset: start, text: fields[3].string ?? "")
        }
    }

    public func subscriberCount(of channel: String) async throws -> Int {
        guard case .array(let reply) = try await send(["PUBSUB", "NUMSUB", .string(channel)]),
            reply.count == 2, let count = reply[1].int
        else { throw RedisError.unexpectedReply("PUBSUB NUMSUB") }
        return count
    }
}
