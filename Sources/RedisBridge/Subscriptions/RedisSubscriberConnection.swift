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
/// The connection only ever sends `SUBSCRIBE` and `UNSUBSCRIBE` (and `AUTH`/`SELECT` when it connects):
/// hiredis 0.14 mishandles anything else on a subscribed context.
public actor RedisSubscriberConnection {
    /// The configuration this connection uses.
    public nonisolated let configuration: RedisConfiguration
    private nonisolated let supervisor: ConnectionSupervisor
    private let registry: SubscriptionRegistry
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
        supervisor = ConnectionSupervisor(role: role, configuration: configuration, logger: logger)
        registry = SubscriptionRegistry(supervisor: supervisor)
    }

    deinit {
        let (supervisor, registry) = (self.supervisor, self.registry)
        supervisor.executor.queue.async {
            registry.closeAll()
            supervisor.close {}
        }
    }

    /// Subscribes to `channel` and returns once Redis confirmed it, so that a message published afterwards
    /// is received. Throws the connection error if Redis cannot be reached, ``RedisError/closed`` after
    /// ``close()``, and `CancellationError` if the task is cancelled first.
    public func subscribe(to channel: String) async throws -> RedisSubscription {
        let id = nextSubscriberID
        nextSubscriberID += 1
        let (batches, continuation) = AsyncStream<[RedisSubscriptionEvent]>.makeStream()
        continuation.onTermination = { [weak self] _ in
            self?.scheduleRemoval(of: id, from: channel, reason: CancellationError())
        }
        let subscriber = SubscriptionRegistry.Subscriber(stream: continuation)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (confirmation: CheckedContinuation<Void, any Error>) in
                subscriber.confirmation = confirmation
                registry.add(subscriber, id: id, to: channel)
            }
        } onCancel: { [weak self] in
            self?.scheduleRemoval(of: id, from: channel, reason: CancellationError())
        }
        return RedisSubscription(channel: channel, subscriberID: id, batches: batches)
    }

    /// Subscribes to `channel`, runs `body` with the subscription, and unsubscribes when `body` returns or
    /// throws: the closure-scoped form, for a subscription that lives no longer than one call.
    public func withSubscription<Result: Sendable>(
        to channel: String,
        _ body: (RedisSubscription) async throws -> Result
    ) async throws -> Result {
        let subscription = try await subscribe(to: channel)
        defer { scheduleRemoval(of: subscription.subscriberID, from: channel, reason: CancellationError()) }
        return try await body(subscription)
    }

    /// The number of channels this connection is subscribed to (or subscribing or unsubscribing).
    public var channelCount: Int { registry.channelCount }

    /// Ends every subscription (their sequences finish) and closes the connection.
    public func close() async {
        registry.closeAll()
        await withCheckedContinuation { continuation in
            supervisor.close { continuation.resume() }
        }
    }

    private nonisolated func scheduleRemoval(of id: Int, from channel: String, reason: any Error & Sendable) {
        supervisor.executor.queue.async {
            self.assumeIsolated { $0.registry.remove(subscriberID: id, from: channel, reason: reason) }
        }
    }
}
