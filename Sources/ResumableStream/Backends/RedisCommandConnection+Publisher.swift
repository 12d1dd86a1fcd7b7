import RedisBridge

extension RedisCommandConnection: ResumableStreamPublisher {
    /// False on a cluster with classic pub/sub, whose nodes count only their own subscribers; a shard channel's
    /// subscribers are all on the node that publishes it.
    public nonisolated var countsEveryReceiver: Bool {
        if case .cluster = configuration.endpoint { return configuration.shardedPubSub }
        return true
    }

    /// The configuration's `shardedPubSub`.
    public nonisolated var usesShardChannels: Bool { configuration.shardedPubSub }

    /// `PUBLISH`, or `SPUBLISH` with the configuration's `shardedPubSub`.
    public func publishMessage(_ message: String, to channel: String) async throws -> Int {
        try await configuration.shardedPubSub ? publish(message, toShardChannel: channel) : publish(message, to: channel)
    }

    /// KEYS: sentinel, generation key, then the stale keys. ARGV: mode (`n`: if absent, `r`: replacing, `k`:
    /// reclaiming), the generation, the expiry in milliseconds, the request channel, the announcement's text
    /// before and after the generation, the command that publishes it (`PUBLISH` or `SPUBLISH`). `{0, generation}`: claimed; `{1}`: running (the caller was counted, or
    /// for `k`: another producer holds the id); `{2}`: done; `{3, generation}`: claimed and announced.
    ///
    /// A new generation is the server's clock (seconds and microseconds, 13 hex digits) and the token's last 3
    /// digits, and always larger than the one it replaces. Generations compare as numbers, in two halves of 8
    /// digits (a double holds 53 bits).
    private static let claimScript = """
        local function halves(token)
            return tonumber(string.sub(token, 1, 8), 16) or -1, tonumber(string.sub(token, 9), 16) or -1
        end
        local function isAfter(token, other)
            local high, low = halves(token)
            local otherHigh, otherLow = halves(other)
            return high > otherHigh or (high == otherHigh and low > otherLow)
        end
        local holder = redis.call('GET', KEYS[2])
        if ARGV[1] == 'k' then
            if holder == ARGV[2] then return {0, holder} end
            if not holder then
                if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return {1} end
                redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
                return {0, ARGV[2]}
            end
            if not isAfter(ARGV[2], holder) then return {1} end
        end
        if ARGV[1] == 'n' and not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then
            local count = redis.pcall('INCR', KEYS[1])
            if type(count) == 'table' and count.err then
                if string.find(count.err, 'not an integer') then return {2} end
                return redis.error_reply(count.err)
            end
            return {1}
        end
        local generation = ARGV[2]
        if ARGV[1] ~= 'k' then
            local now = redis.call('TIME')
            generation = string.format('%08x%05x', tonumber(now[1]), tonumber(now[2])) .. string.sub(ARGV[2], 14, 16)
            if holder and not isAfter(generation, holder) then
                local high, low = halves(holder)
                if low >= 4294967295 then high, low = high + 1, 0 else low = low + 1 end
                generation = string.format('%08x%08x', high, low)
            end
        end
        if ARGV[1] ~= 'n' then redis.call('SET', KEYS[1], '1', 'PX', ARGV[3]) end
        redis.call('SET', KEYS[2], generation, 'PX', ARGV[3])
        for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
        if not holder then return {0, generation} end
        redis.call(ARGV[7], ARGV[4], ARGV[5] .. generation .. ARGV[6])
        return {3, generation}
        """

    public func claim(_ claim: StreamClaim) async throws -> StreamClaimOutcome {
        let reply = try await eval(
            Self.claimScript, keys: [claim.sentinel, claim.generationKey] + claim.staleKeys,
            arguments: [
                .string(Self.scriptMode(claim.mode)), .string(claim.generation), .milliseconds(claim.expiresIn),
                .string(claim.requests), .string(claim.announcementPrefix), .string(claim.announcementSuffix),
                configuration.shardedPubSub ? "SPUBLISH" : "PUBLISH",
            ])
        guard case .array(let parts) = reply, let outcome = parts.first?.int else { throw RedisError.unexpectedReply("claim script") }
        switch (outcome, parts.count > 1 ? parts[1].string : nil) {
        case (0, let generation?): return .claimed(generation: generation, announced: false)
        case (1, nil): return .running
        case (2, nil): return .done
        case (3, let generation?): return .claimed(generation: generation, announced: true)
        default: throw RedisError.unexpectedReply("claim script")
        }
    }

    private static func scriptMode(_ mode: StreamClaim.Mode) -> String {
        switch mode {
        case .ifAbsent: "n"
        case .replacing: "r"
        case .reclaiming: "k"
        }
    }

    /// KEYS: sentinel, generation key, flag. ARGV: expiry in milliseconds, the done value. `{0}`: absent;
    /// `{1}`: done; `{2}`: running, with no generation; `{2, generation}`: running, stored for the generation.
    private static let stopScript = """
        local state = redis.call('GET', KEYS[1])
        if not state then return {0} end
        if state == ARGV[2] then return {1} end
        local generation = redis.call('GET', KEYS[2])
        if not generation then return {2} end
        redis.call('SET', KEYS[3], generation, 'PX', ARGV[1])
        return {2, generation}
        """

    public func storeStopRequest(sentinel: String, generationKey: String, flag: String, expiresIn: Duration) async throws -> StreamStopTarget {
        let reply = try await eval(
            Self.stopScript, keys: [sentinel, generationKey, flag], arguments: [.milliseconds(expiresIn), .string(WireProtocol.doneValue)])
        guard case .array(let parts) = reply, let outcome = parts.first?.int else { throw RedisError.unexpectedReply("stop script") }
        switch (outcome, parts.count) {
        case (0, 1): return .absent
        case (1, 1): return .done
        case (2, 1): return .running(generation: nil)
        case (2, 2): return .running(generation: parts[1].string)
        default: throw RedisError.unexpectedReply("stop script")
        }
    }

    public func value(of key: String) async throws -> String? {
        try await get(key)
    }

    public func values(of keys: [String]) async throws -> [String?] {
        guard case .array(let values) = try await send([RESPArgument.string("MGET")] + keys.map(RESPArgument.string)), values.count == keys.count
        else { throw RedisError.unexpectedReply("MGET") }
        return values.map(\.string)
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
        _ message: String, to channel: String, onReceivers: (@Sendable (Result<Int, any Error>) -> Void)?
    ) {
        let sharded = configuration.shardedPubSub
        guard let onReceivers else { return publishWithoutWaiting(message, to: channel, isShardChannel: sharded) }
        publishWithoutWaiting(message, to: channel, isShardChannel: sharded) { result in onReceivers(result.mapError { $0 }) }
    }

    public nonisolated func enqueuePublish(
        _ message: String, toEach channels: [String], onReceivers: (@Sendable (String, Result<Int, any Error>) -> Void)?
    ) {
        let sharded = configuration.shardedPubSub
        guard let onReceivers else { return publishWithoutWaiting(message, toEach: channels, isShardChannel: sharded) }
        publishWithoutWaiting(message, toEach: channels, isShardChannel: sharded) { channel, result in
            onReceivers(channel, result.mapError { $0 })
        }
    }

    /// Takes the messages on the connection's executor, just before they are written.
    public nonisolated func enqueuePublishes(taking take: @escaping @Sendable () -> [ResumableStreamPublication]) {
        publishWithoutWaiting(isShardChannel: configuration.shardedPubSub) {
            // Lazily: each message goes from the taken array to its command, with no array between.
            take().lazy.map { publication in
                guard let report = publication.onReceivers else { return RedisPublication(publication.message, toEach: publication.channels) }
                return RedisPublication(publication.message, toEach: publication.channels) { channel, result in
                    report(channel, result.mapError { $0 })
                }
            }
        }
    }

    /// KEYS: log, fence. ARGV: id, offset, field (`t` for text, `e` for the end mark), text, expiry in
    /// milliseconds, generation. 0: fenced off; 1: appended (or there already); 2: no generation key.
    private static let logAppendScript = """
        local fence = redis.call('GET', KEYS[2])
        if not fence then return 2 end
        if fence ~= ARGV[6] then return 0 end
        local added = redis.pcall('XADD', KEYS[1], ARGV[1], 'o', ARGV[2], ARGV[3], ARGV[4])
        if type(added) == 'table' and added.err and not string.find(added.err, 'equal or smaller') then
            return redis.error_reply(added.err)
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        return 1
        """

    public func appendToLog(_ entry: StreamLogEntry, at key: String, expiresIn: Duration, fencedBy fence: String, generation: String)
        async throws -> Bool
    {
        let reply = try await eval(
            Self.logAppendScript, keys: [key, fence],
            arguments: [
                .string(entry.id), .string(String(entry.offset)), .string(entry.isEnd ? "e" : "t"), .string(entry.text),
                .milliseconds(expiresIn), .string(generation),
            ])
        if reply.int == 2 { throw StreamLogUnclaimedError() }
        return reply.int == 1
    }

    public func logEntries(at key: String, after offset: Int, limit: Int?) async throws -> [StreamLogEntry] {
        var command: [RESPArgument] = ["XRANGE", .string(key), .string("\(offset)-1"), "+"]
        if let limit { command += ["COUNT", .string(String(limit))] }
        guard case .array(let entries) = try await send(command) else { throw RedisError.unexpectedReply("XRANGE") }
        return try entries.map { entry in
            // [id, [field, value, ...]]
            guard case .array(let parts) = entry, parts.count == 2, case .array(let fields) = parts[1], fields.count == 4,
                fields[0].string == "o", let start = fields[1].int, (0...StreamLogEntry.maximumOffset).contains(start),
                let kind = fields[2].string
            else { throw RedisError.unexpectedReply("XRANGE entry") }
            let text = fields[3].string ?? ""
            return kind == "e" ? .end(length: start, text: text) : StreamLogEntry(offset: start, text: text)
        }
    }

    public func ping() async throws {
        guard try await send(["PING"]).string == "PONG" else { throw RedisError.unexpectedReply("PING") }
    }

    /// `PUBSUB NUMSUB`, or `PUBSUB SHARDNUMSUB` (on the node of the channel's slot) with the configuration's
    /// `shardedPubSub`.
    public func subscriberCount(of channel: String) async throws -> Int {
        let question: RESPArgument = configuration.shardedPubSub ? "SHARDNUMSUB" : "NUMSUB"
        guard case .array(let reply) = try await send(["PUBSUB", question, .string(channel)]),
            reply.count == 2, let count = reply[1].int
        else { throw RedisError.unexpectedReply("PUBSUB \(question)") }
        return count
    }
}
