import Dispatch
import Logging

/// A Redis connection for commands (the "publisher" of the resumable-stream design).
///
/// Many tasks can have commands in flight at once: each command is written as soon as it is issued and the
/// replies, which Redis sends in order, are matched to their callers (implicit pipelining). The actor runs on
/// the connection's own serial executor, so its methods call hiredis directly, without hops.
///
/// The connection is made on first use (or by ``connect()``) and re-made after a drop, with backoff. Commands
/// in flight when it drops fail with ``RedisError/connectionLost(_:)`` and are never re-sent, because Redis may
/// have run them (an `INCR` must not run twice). Commands issued while it is down wait for the next
/// connection attempt and fail with its error if it fails.
///
/// Cancelling a task that awaits a reply does not withdraw the command: it was already written.
public actor RedisCommandConnection {
    /// The configuration this connection uses.
    public nonisolated let configuration: RedisConfiguration
    private nonisolated let supervisor: ConnectionSupervisor
    /// For a cluster endpoint: routes each command to its slot's primary (`supervisor` is the seed node).
    private nonisolated let cluster: ClusterRouter?
    /// Commands sent without waiting from outside the executor (the publishes of every stream), in the order they
    /// came: one hop to the executor runs all that came meanwhile, so a burst from many streams wakes the queue
    /// once, not once per command.
    private nonisolated let submissions = Locked<[@Sendable (isolated RedisCommandConnection) -> Void]>([])

    /// The connection's serial executor: the queue that also drives hiredis.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        supervisor.executor.asUnownedSerialExecutor()
    }

    /// Creates the connection; it connects on first use or on ``connect()``.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "redis.commands")) {
        self.configuration = configuration
        let supervisor = ConnectionSupervisor(role: "commands", configuration: configuration, logger: logger)
        self.supervisor = supervisor
        if case .cluster = configuration.endpoint {
            cluster = ClusterRouter(seed: supervisor, configuration: configuration, logger: logger)
        } else {
            cluster = nil
        }
    }

    deinit {
        let supervisor = self.supervisor
        let cluster = self.cluster
        supervisor.executor.queue.async {
            if let cluster { cluster.close {} } else { supervisor.close {} }
        }
    }

    /// Connects now (if not connected) and throws the error of the attempt if it fails, such as a wrong
    /// password or a refused connection.
    public func connect() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            supervisor.withConnection { continuation.resume(with: $0.map { _ in () }.mapError { $0 }) }
        }
    }

    /// Sends any command, binary-safe, and returns its reply. An error reply throws ``RedisError/server(_:)``.
    public func send(_ arguments: [RESPArgument]) async throws -> RedisValue {
        try await withCheckedThrowingContinuation { continuation in
            send([arguments]) { _ in .continuation(continuation) }
        }
    }

    /// Sends several commands in one write and returns their results in order: one error reply does not stop
    /// the others.
    public func pipeline(_ commands: [[RESPArgument]]) async throws -> [Result<RedisValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let batch = PipelineResults(count: commands.count, continuation: continuation)
            send(commands, failing: { continuation.resume(throwing: $0) }) { .pipelined(batch, index: $0) }
        }
    }

    /// Sends a command without waiting for its reply, from any context and without `await`. Commands sent this
    /// way from one thread or task go out in the order they were sent. `completion`, if given, gets the
    /// reply; otherwise an error reply is only logged at debug level.
    public nonisolated func sendWithoutWaiting(
        _ arguments: [RESPArgument],
        completion: (@Sendable (Result<RedisValue, RedisError>) -> Void)? = nil
    ) {
        onExecutor { $0.send([arguments]) { _ in completion.map { .callback($0) } ?? .discard } }
    }

    /// `PUBLISH` (`SPUBLISH` if `isShardChannel`) without waiting for the reply; `onReceivers`, if given, gets
    /// the number of subscribers that received the message. Publishes from one thread or task keep their order.
    public nonisolated func publishWithoutWaiting(
        _ message: String,
        to channel: String,
        isShardChannel: Bool = false,
        onReceivers: (@Sendable (Result<Int, RedisError>) -> Void)? = nil
    ) {
        let command = Self.publishCommand(message, to: channel, isShardChannel: isShardChannel)
        guard let onReceivers else { return sendWithoutWaiting(command) }
        sendWithoutWaiting(command) { result in onReceivers(result.flatMap(Self.integer)) }
    }

    /// `PUBLISH` (`SPUBLISH` if `isShardChannel`) of one message to each of `channels`, without waiting, in one
    /// hop to the connection's executor (the fan-out of a chunk to its followers); in order with the caller's
    /// other publishes. `onReceivers`, if given, gets each channel's number of receivers.
    public nonisolated func publishWithoutWaiting(
        _ message: String,
        toEach channels: [String],
        isShardChannel: Bool = false,
        onReceivers: (@Sendable (_ channel: String, Result<Int, RedisError>) -> Void)? = nil
    ) {
        onExecutor { connection in
            connection.publish(RedisPublication(message, toEach: channels, onReceivers: onReceivers), isShardChannel: isShardChannel)
        }
    }

    /// Publishes what `take` returns, calling it on the connection's executor just before the publishes are
    /// written; in order with the caller's other commands sent without waiting. A caller that goes on adding to
    /// what `take` will return while the connection is busy with other commands sends one message where it
    /// would have sent one per addition (a stream's chunks that queued behind other streams' publishes).
    public nonisolated func publishWithoutWaiting<Publications: Sequence<RedisPublication> & SendableMetatype>(
        isShardChannel: Bool = false,
        taking take: @escaping @Sendable () -> Publications
    ) {
        onExecutor { connection in
            for publication in take() { connection.publish(publication, isShardChannel: isShardChannel) }
        }
    }

    private func publish(_ publication: RedisPublication, isShardChannel: Bool) {
        let channels = publication.channels
        send(channels.map { Self.publishCommand(publication.message, to: $0, isShardChannel: isShardChannel) }) { index in
            guard let onReceivers = publication.onReceivers else { return .discard }
            let channel = channels[index]
            return .callback { onReceivers(channel, $0.flatMap(Self.integer)) }
        }
    }

    /// `INCR key`: the new value. A key that does not hold an integer throws
    /// ``RedisError/server(_:)`` with `ERR value is not an integer or out of range`.
    public func incr(_ key: String) async throws -> Int {
        try Self.integer(try await send(["INCR", .string(key)])).get()
    }

    /// `GET key`: the value as UTF-8 text, or `nil` when the key does not exist.
    public func get(_ key: String) async throws -> String? {
        try await send(["GET", .string(key)]).string
    }

    /// `SET key value`, with `EX`/`PX` when `expiresIn` is given (whole seconds use `EX`).
    public func set(_ key: String, to value: String, expiresIn: Duration? = nil) async throws {
        var command: [RESPArgument] = ["SET", .string(key), .string(value)]
        if let expiresIn { command += Self.expiryArguments(expiresIn) }
        _ = try await send(command)
    }

    /// `SET key value NX PX ttl`: whether the key was created (it did not exist).
    public func setIfAbsent(_ key: String, to value: String, expiresIn: Duration) async throws -> Bool {
        try await send(["SET", .string(key), .string(value), "NX", "PX", .milliseconds(expiresIn)]) != .null
    }

    /// `EVAL script numkeys key... arg...`: the script's reply.
    public func eval(_ script: String, keys: [String], arguments: [RESPArgument] = []) async throws -> RedisValue {
        try await send(["EVAL", .string(script), RESPArgument(keys.count)] + keys.map(RESPArgument.string) + arguments)
    }

    /// `PUBLISH channel message`: the number of subscribers that received it.
    public func publish(_ message: String, to channel: String) async throws -> Int {
        try Self.integer(try await send(Self.publishCommand(message, to: channel, isShardChannel: false))).get()
    }

    /// `SPUBLISH shardchannel message` (Redis 7): the number of the shard channel's subscribers that received
    /// it (``RedisSubscriberConnection/subscribe(toShardChannel:)``). On a cluster it goes to the primary that
    /// serves the channel's hash slot, whose subscribers are all there is: the count is exact.
    public func publish(_ message: String, toShardChannel channel: String) async throws -> Int {
        try Self.integer(try await send(Self.publishCommand(message, to: channel, isShardChannel: true))).get()
    }

    private static func publishCommand(_ message: String, to channel: String, isShardChannel: Bool) -> [RESPArgument] {
        [isShardChannel ? "SPUBLISH" : "PUBLISH", .string(channel), .string(message)]
    }

    /// `DEL key...`: the number of keys removed.
    public func del(_ keys: [String]) async throws -> Int {
        try Self.integer(try await send([RESPArgument.string("DEL")] + keys.map(RESPArgument.string))).get()
    }

    /// `EXPIRE` (or `PEXPIRE` for a fraction of a second): whether the key exists and got the expiry.
    public func expire(_ key: String, after duration: Duration) async throws -> Bool {
        let arguments = Self.expiryArguments(duration)
        let command: RESPArgument = arguments[0] == "EX" ? "EXPIRE" : "PEXPIRE"
        return try Self.integer(try await send([command, .string(key), arguments[1]])).get() == 1
    }

    /// Closes the connection after the replies in flight arrived, and stops reconnecting. Later commands throw
    /// ``RedisError/closed``.
    public func close() async {
        await withCheckedContinuation { continuation in
            if let cluster {
                cluster.close { continuation.resume() }
            } else {
                supervisor.close { continuation.resume() }
            }
        }
    }

    // MARK: the bridge from the connection's callbacks

    /// Sends `commands` in order on the ready connection (waiting for the next connection attempt if there is
    /// none), each with the reply handler `reply(index)` makes. If no connection can be had, `failing` gets the
    /// attempt's error, or, without it, every handler does. Not inlined, so that the async functions that await
    /// a reply (which their tasks hold until it comes) keep small frames.
    @inline(never)
    private func send(
        _ commands: [[RESPArgument]],
        failing: ((RedisError) -> Void)? = nil,
        reply: @escaping (_ index: Int) -> PendingReply
    ) {
        if let cluster {
            for (index, command) in commands.enumerated() { cluster.send(command, reply(index)) }
            return
        }
        supervisor.withConnection { result in
            switch result {
            case .success(let connection):
                for (index, command) in commands.enumerated() { connection.send(command, reply(index)) }
            case .failure(let error):
                guard let failing else {
                    for index in commands.indices { reply(index).complete(.failure(error)) }
                    return
                }
                failing(error)
            }
        }
    }

    /// Runs `body` on the connection's executor, isolated to this actor, from any context.
    private nonisolated func onExecutor(_ body: @escaping @Sendable (isolated RedisCommandConnection) -> Void) {
        let isFirst = submissions.withLock { submissions in
            submissions.append(body)
            return submissions.count == 1
        }
        guard isFirst else { return }
        supervisor.executor.queue.async {
            self.assumeIsolated { connection in
                let batch = connection.submissions.withLock { submissions in
                    defer { submissions.removeAll(keepingCapacity: true) }
                    return submissions
                }
                for body in batch { body(connection) }
            }
        }
    }

    private static func integer(_ value: RedisValue) -> Result<Int, RedisError> {
        if case .integer(let number) = value { return .success(number) }
        return .failure(.unexpectedReply("\(value)"))
    }

    private static func expiryArguments(_ duration: Duration) -> [RESPArgument] {
        let milliseconds = duration.expiryMilliseconds
        if milliseconds % 1000 == 0 { return ["EX", RESPArgument(milliseconds / 1000)] }
        return ["PX", RESPArgument(milliseconds)]
    }
}
