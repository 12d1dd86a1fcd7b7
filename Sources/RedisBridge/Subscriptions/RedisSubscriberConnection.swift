import Dispatch
import Logging

/// A Redis connection for pub/sub (the "subscriber" of the resumable-stream design), shared by every
/// subscription of the process.
///
/// ``subscribe(to:)`` returns once Redis confirmed the subscription. Each channel has one server-side
/// subscription however many local subscribers it has; `UNSUBSCRIBE` is sent when the last one ends. After a
/// drop the connection reconnects, subscribes every active channel again, and yields
/// ``RedisSubscriptionEvent/resubscribed`` to each subscriber, since messages published meanwhile were lost.
///
/// Shard channels (``subscribe(toShardChannel:)``, Redis 7's sharded pub/sub) go over connections of their own:
/// on a cluster, one to each primary that serves a subscribed channel's slot.
///
/// The connection only ever sends subscription commands (and `AUTH`/`SELECT` when it connects): Redis answers
/// nothing else on a subscribed connection in RESP2.
public actor RedisSubscriberConnection {
    /// The configuration this connection uses.
    public nonisolated let configuration: RedisConfiguration
    private nonisolated let supervisor: ConnectionSupervisor
    private let registry: SubscriptionRegistry
    /// Hands every subscription's events to its receiver (the classic and the shard channels' alike, so that a
    /// channel's order holds across them).
    private nonisolated let delivery: SubscriberDelivery
    private let logger: Logger
    /// The shard channels' connections, from the first shard channel subscribed on.
    private var shards: ShardedSubscriptions?
    /// Set by ``close()``: no shard channel's connection is made after it.
    private var isClosed = false
    private var nextSubscriberID = 0

    /// The connection's serial executor: the queue that also drives hiredis.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        supervisor.executor.asUnownedSerialExecutor()
    }

    /// Creates the connection; it connects on the first subscription.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "redis.subscriber")) {
        self.init(configuration: configuration, logger: logger, role: "subscriber")
    }

    /// Creates the connection with `role` in its logs, metrics and queue name.
    init(configuration: RedisConfiguration, logger: Logger, role: String) {
        self.configuration = configuration
        self.logger = logger
        supervisor = ConnectionSupervisor(role: role, configuration: configuration, logger: logger)
        delivery = SubscriberDelivery(label: "redis.\(role).delivery")
        registry = SubscriptionRegistry(supervisor: supervisor, delivery: delivery)
    }

    deinit {
        let (supervisor, registry, shards) = (self.supervisor, self.registry, self.shards)
        supervisor.executor.queue.async {
            registry.closeAll()
            supervisor.close {}
            shards?.close {}
        }
    }

    /// Subscribes to `channel` and returns once Redis confirmed it, so that a message published afterwards
    /// is received. Throws the connection error if Redis cannot be reached, ``RedisError/closed`` after
    /// ``close()``, and `CancellationError` if the task is cancelled first.
    public func subscribe(to channel: String) async throws -> RedisSubscription {
        try await subscribe(to: channel, isShardChannel: false)
    }

    /// Subscribes to the shard channel `channel` (`SSUBSCRIBE`, Redis 7) and returns once Redis confirmed it; its
    /// messages are those of ``RedisCommandConnection/publish(_:toShardChannel:)``. On a cluster it is subscribed
    /// on the primary that serves its hash slot, and follows the slot when it moves (a migration, a failover):
    /// the subscription then yields ``RedisSubscriptionEvent/resubscribed``, as after a reconnection.
    public func subscribe(toShardChannel channel: String) async throws -> RedisSubscription {
        try await subscribe(to: channel, isShardChannel: true)
    }

    private func subscribe(to channel: String, isShardChannel: Bool) async throws -> RedisSubscription {
        let id = nextSubscriberID
        nextSubscriberID += 1
        let (batches, continuation) = AsyncStream<[RedisSubscriptionEvent]>.makeStream()
        continuation.onTermination = { [weak self] _ in
            self?.scheduleRemoval(of: id, from: channel, isShardChannel: isShardChannel, reason: CancellationError())
        }
        try await subscribe(to: channel, isShardChannel: isShardChannel, id: id) { batch in
            if let batch { continuation.yield(batch) } else { continuation.finish() }
        }
        return RedisSubscription(channel: channel, isShardChannel: isShardChannel, subscriberID: id, batches: batches)
    }

    /// Subscribes to `channel` (a shard channel if `isShardChannel`) and returns once Redis confirmed it, like
    /// ``subscribe(to:)``, but hands its events to `receive` as they are read: one batch per socket read, in
    /// order and one call at a time, then `nil` once, when the subscription ended (a subscription that never
    /// began, because this call threw, gets nothing). No task runs in between: the calls come from this
    /// connection's queue, or, after a read that brought a burst, from a delivery queue of its own (so that the
    /// receivers' work never holds back the socket's reading). `receive` must not block; it may cancel the
    /// subscription. The subscription lasts until
    /// ``RedisSubscriptionHandle/cancel()`` or the connection's close.
    package func subscribe(
        to channel: String, isShardChannel: Bool, receive: @escaping @Sendable ([RedisSubscriptionEvent]?) -> Void
    ) async throws -> RedisSubscriptionHandle {
        let id = nextSubscriberID
        nextSubscriberID += 1
        try await subscribe(to: channel, isShardChannel: isShardChannel, id: id, receive: receive)
        return RedisSubscriptionHandle { [weak self] in
            self?.scheduleRemoval(of: id, from: channel, isShardChannel: isShardChannel, reason: CancellationError())
        }
    }

    private func subscribe(
        to channel: String, isShardChannel: Bool, id: Int, receive: @escaping @Sendable ([RedisSubscriptionEvent]?) -> Void
    ) async throws {
        let subscriber = SubscriptionRegistry.Subscriber(delivery: delivery, receive: receive)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (confirmation: CheckedContinuation<Void, any Error>) in
                subscriber.confirmation = confirmation
                if isShardChannel {
                    shardSubscriptions().add(subscriber, id: id, to: channel)
                } else {
                    registry.add(subscriber, id: id, to: channel)
                }
            }
        } onCancel: { [weak self] in
            self?.scheduleRemoval(of: id, from: channel, isShardChannel: isShardChannel, reason: CancellationError())
        }
    }

    private func shardSubscriptions() -> ShardedSubscriptions {
        if let shards { return shards }
        let created = ShardedSubscriptions(configuration: configuration, logger: logger, executor: supervisor.executor, delivery: delivery)
        // Made after close(), it only ends its subscribers with `closed`.
        if isClosed { created.close {} }
        shards = created
        return created
    }

    /// Subscribes to `channel`, runs `body` with the subscription, and unsubscribes when `body` returns or
    /// throws: the closure-scoped form, for a subscription that lives no longer than one call.
    public func withSubscription<Result: Sendable>(
        to channel: String,
        _ body: (RedisSubscription) async throws -> Result
    ) async throws -> Result {
        let subscription = try await subscribe(to: channel)
        defer { scheduleRemoval(of: subscription.subscriberID, from: channel, isShardChannel: false, reason: CancellationError()) }
        return try await body(subscription)
    }

    /// The number of channels and shard channels this connection is subscribed to (or subscribing or
    /// unsubscribing).
    public var channelCount: Int { registry.channelCount + (shards?.channelCount ?? 0) }

    /// Ends every subscription (their sequences finish) and closes the connection.
    public func close() async {
        isClosed = true
        registry.closeAll()
        await withCheckedContinuation { continuation in
            supervisor.close { continuation.resume() }
        }
        guard let shards else { return }
        await withCheckedContinuation { continuation in
            shards.close { continuation.resume() }
        }
    }

    private nonisolated func scheduleRemoval(of id: Int, from channel: String, isShardChannel: Bool, reason: any Error & Sendable) {
        supervisor.executor.queue.async {
            self.assumeIsolated { connection in
                if isShardChannel {
                    connection.shards?.remove(subscriberID: id, from: channel, reason: reason)
                } else {
                    connection.registry.remove(subscriberID: id, from: channel, reason: reason)
                }
            }
        }
    }
}
