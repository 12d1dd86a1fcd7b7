import Dispatch
import Logging
import Metrics

/// Keeps one logical Redis connection alive: resolves the host, connects with a timeout, reconnects after a
/// drop with exponential backoff and jitter, and hands the ready ``HiredisConnection`` to callers.
///
/// Callers that need the connection while it is down wait for the next attempt: they get the connection if
/// it succeeds and that attempt's error if it fails, so a Redis that is down gives a clear error within the
/// connect timeout (plus at most one backoff delay) instead of a hang. Nothing is ever re-sent after a drop.
///
/// - Important: Confined to `queue`, like the connection it owns.
final class ConnectionSupervisor {
    private enum State {
        case idle
        case resolving
        case connecting(HiredisConnection)
        case ready(HiredisConnection)
        case waitingToReconnect(DispatchSourceTimer)
        case closing(HiredisConnection)
        case closed
    }

    private let queue: DispatchQueue
    private let configuration: RedisConfiguration
    private let logger: Logger
    private var state = State.idle
    private var waiters: [(Result<HiredisConnection, RedisError>) -> Void] = []
    private var closeCompletions: [() -> Void] = []
    private var failedAttempts = 0
    /// Whether a connection was ready before: the next ready one is a reconnection.
    private var wasConnected = false
    private let reconnects: Counter
    /// Called when a (re)connection is ready, before waiting callers get it.
    var onReady: (HiredisConnection) -> Void = { _ in }
    /// Called when a ready connection dropped (not after ``close(_:)``).
    var onLost: (RedisError) -> Void = { _ in }
    /// Called when a connection attempt failed.
    var onAttemptFailed: (RedisError) -> Void = { _ in }
    /// Subscription pushes of the current connection.
    var onPush: (PushMessage) -> Void = { _ in }
    /// The end of every read event of the current connection.
    var onReadEvent: () -> Void = {}

    /// `role` names the connection in metrics: `redis.reconnects` with dimension `redis.connection`.
    init(queue: DispatchQueue, configuration: RedisConfiguration, logger: Logger, role: String) {
        self.queue = queue
        self.configuration = configuration
        self.logger = logger
        reconnects = Counter(label: "redis.reconnects", dimensions: [("redis.connection", role)])
    }

    /// The ready connection, if there is one now.
    var readyConnection: HiredisConnection? {
        if case .ready(let connection) = state { return connection }
        return nil
    }

    /// Calls `body` with the ready connection: at once if it is ready, else after the next connection attempt
    /// (starting one if none is under way). After ``close(_:)`` it gets ``RedisError/closed``.
    func withConnection(_ body: @escaping (Result<HiredisConnection, RedisError>) -> Void) {
        switch state {
        case .ready(let connection):
            body(.success(connection))
        case .closing, .closed:
            body(.failure(.closed))
        case .idle:
            waiters.append(body)
            connect()
        case .resolving, .connecting, .waitingToReconnect:
            waiters.append(body)
        }
    }

    /// Starts connecting if nothing is under way.
    func start() {
        if case .idle = state { connect() }
    }

    /// Closes the connection (after its pending replies) and stops reconnecting; `completion` runs once the
    /// context is freed.
    func close(_ completion: @escaping () -> Void) {
        switch state {
        case .closed:
            completion()
        case .closing:
            closeCompletions.append(completion)
        case .ready(let connection), .connecting(let connection):
            closeCompletions.append(completion)
            state = .closing(connection)
            failWaiters(.closed)
            connection.close()
        case .waitingToReconnect(let timer):
            timer.cancel()
            fallthrough
        case .idle, .resolving:
            state = .closed
            failWaiters(.closed)
            completion()
        }
    }

    private func connect() {
        state = .resolving
        let queue = self.queue
        HostResolver.resolve(configuration.endpoint) { [self] result in
            // The resolver may call back on another thread: hop to the queue first. The strong captures
            // here and in the connection callbacks last until the connection reports it closed.
            queue.async { self.resolved(result) }
        }
    }

    private func resolved(_ result: Result<ResolvedEndpoint, RedisError>) {
        guard case .resolving = state else { return }  // closed meanwhile
        switch result {
        case .failure(let error):
            attemptFailed(error)
        case .success(let endpoint):
            let connection = HiredisConnection(
                queue: queue,
                configuration: configuration,
                logger: logger,
                onEvent: { [self] event in handle(event) },
                onPush: { [self] push in onPush(push) },
                onReadEvent: { [self] in onReadEvent() }
            )
            state = .connecting(connection)
            connection.start(endpoint)
        }
    }

    private func handle(_ event: HiredisConnection.Event) {
        switch (state, event) {
        case (.connecting(let connection), .ready):
            state = .ready(connection)
            failedAttempts = 0
            if wasConnected { reconnects.increment() }
            wasConnected = true
            onReady(connection)
            let waiting = waiters
            waiters = []
            for waiter in waiting { waiter(.success(connection)) }
        case (.connecting, .closed(let error)):
            attemptFailed(error)
        case (.ready, .closed(let error)):
            logger.debug("redis connection lost, reconnecting", metadata: ["redis.reason": "\(error)"])
            onLost(error)
            scheduleReconnect()
        case (.closing, .closed):
            state = .closed
            let completions = closeCompletions
            closeCompletions = []
            for completion in completions { completion() }
        default:
            break
        }
    }

    private func attemptFailed(_ error: RedisError) {
        logger.debug("redis connection attempt failed", metadata: ["redis.reason": "\(error)"])
        failedAttempts += 1
        onAttemptFailed(error)
        failWaiters(error)
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + reconnectDelay().dispatchInterval)
        timer.setEventHandler { [self] in
            if case .waitingToReconnect = state { connect() }
        }
        state = .waitingToReconnect(timer)
        timer.resume()
    }

    /// Exponential backoff from the initial delay up to the maximum, with up to 25 % jitter so that many
    /// processes do not reconnect in step after a Redis restart.
    private func reconnectDelay() -> Duration {
        let initial = max(1, configuration.reconnectInitialDelay.nanoseconds)
        let maximum = max(initial, configuration.reconnectMaximumDelay.nanoseconds)
        let exponent = min(failedAttempts, 20)
        let base = min(maximum, initial << exponent)
        return .nanoseconds(base + Int.random(in: 0...(base / 4)))
    }

    private func failWaiters(_ error: RedisError) {
        let waiting = waiters
        waiters = []
        for waiter in waiting { waiter(.failure(error)) }
    }
}

// The supervisor is confined to its connection's serial queue: every access happens there, including the
// resolver's completion, which hops back with `queue.async`. That is the C boundary's threading rule.
extension ConnectionSupervisor: @unchecked Sendable {}
