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
/// - Important: Confined to its executor's queue, like the connection it owns.
final class ConnectionSupervisor {
    /// The connection's serial executor: every method of the supervisor, its connection and its delegate runs
    /// on its queue.
    let executor: ConnectionExecutor
    private var queue: DispatchQueue { executor.queue }
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let backoff: ReconnectBackoff
    private var lifecycle = ConnectionStateMachine<HiredisConnection>()
    private var waiters: [(Result<HiredisConnection, RedisError>) -> Void] = []
    private var closeCompletions: [() -> Void] = []
    /// The backoff timer while waiting to reconnect.
    private var reconnectTimer: DispatchSourceTimer?
    /// For `rediss://`: made on the first attempt and kept while it loads (a failure is retried, as a
    /// certificate may be mounted later).
    private var tlsContext: TLSContext?
    /// For a cluster endpoint: the index of the seed the last attempt went to.
    private var seedIndex = 0
    /// For a cluster endpoint connected to a later seed: the next check whether an earlier one answers again,
    /// and its number (a check whose timer was replaced or cancelled meanwhile does nothing).
    private var seedProbeTimer: DispatchSourceTimer?
    private var seedProbeNumber = 0
    private let reconnects: Counter
    /// The role, for the log lines of an outage.
    private let role: String
    /// Whether the connection is down since a drop or a failed attempt: an outage is logged once at warning
    /// level when it starts, and once when it ends, not at every attempt.
    private var isInOutage = false
    /// Where the latest connection attempt went.
    private var attemptedEndpoint: ResolvedEndpoint?
    /// For a Sentinel endpoint, from the first connection attempt until close: the sentinels' announcements of a
    /// failover, which move the connection to the new primary at once.
    private var switchWatcher: SentinelSwitchWatcher?
    /// A new primary the sentinels announced while no connection was ready: the attempt under way, which may
    /// have asked them before the failover, is checked against it once it is ready.
    private var announcedPrimary: RedisAddress?
    /// The last primary the sentinels announced: each sentinel announces a failover, and one reconnection
    /// serves them all.
    private var lastAnnouncedPrimary: RedisAddress?
    /// Told about (re)connections, drops, failed attempts, pushes and read events; set once, by the owner.
    weak var delegate: (any ConnectionSupervisorDelegate)?

    /// `role` names the connection: its queue is `redis.<role>` (unless it shares `executor`, as the
    /// connections to the nodes of a cluster share the command connection's), and it counts
    /// `redis.reconnects` with dimension `redis.connection` = `role`.
    init(role: String, configuration: RedisConfiguration, logger: Logger, executor: ConnectionExecutor? = nil) {
        self.executor = executor ?? ConnectionExecutor(label: "redis.\(role)")
        self.configuration = configuration
        self.logger = logger
        self.role = role
        backoff = ReconnectBackoff(
            initialDelay: configuration.reconnectInitialDelay, maximumDelay: configuration.reconnectMaximumDelay)
        reconnects = Counter(label: "redis.reconnects", dimensions: [("redis.connection", role)])
        if configuration.tls?.verification == .insecureNoVerification {
            logger.warning(
                "redis TLS certificate verification is off: anyone on the network path can read and change this connection",
                metadata: ["redis.connection": "\(role)"])
        }
    }

    /// The ready connection, if there is one now.
    var readyConnection: HiredisConnection? { lifecycle.readyConnection }

    /// Calls `body` with the ready connection: at once if it is ready, else after the next connection attempt
    /// (starting one if none is under way). After ``close(_:)`` it gets ``RedisError/closed``.
    func withConnection(_ body: @escaping (Result<HiredisConnection, RedisError>) -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        switch lifecycle.connectionRequested() {
        case .use(let connection):
            body(.success(connection))
        case .fail(let error):
            body(.failure(error))
        case .wait(let startResolving):
            waiters.append(body)
            if startResolving { resolve() }
        }
    }

    /// Starts connecting if nothing is under way.
    func start() {
        dispatchPrecondition(condition: .onQueue(queue))
        if lifecycle.startRequested() { resolve() }
    }

    /// Closes the connection (after its pending replies) and stops reconnecting; `completion` runs once the
    /// context is freed.
    func close(_ completion: @escaping () -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        cancelSeedProbe()
        if let watcher = switchWatcher {
            switchWatcher = nil
            Task { await watcher.close() }
        }
        switch lifecycle.closeRequested() {
        case .closeConnection(let connection):
            closeCompletions.append(completion)
            failWaiters(.closed)
            connection.close()
        case .waitForClose:
            closeCompletions.append(completion)
        case .completeNow(let failWaiters, let cancelReconnectTimer):
            if cancelReconnectTimer {
                reconnectTimer?.cancel()
                reconnectTimer = nil
            }
            if failWaiters { self.failWaiters(.closed) }
            completion()
        }
    }

    /// Closes every one of `supervisors` (as `close(_:)`), then runs `completion` once, when the last is freed
    /// (at once if there are none). The supervisors share one executor, this one's caller's.
    static func close(_ supervisors: [ConnectionSupervisor], then completion: @escaping () -> Void) {
        var remaining = supervisors.count
        guard remaining > 0 else { return completion() }
        for supervisor in supervisors {
            supervisor.close {
                remaining -= 1
                if remaining == 0 { completion() }
            }
        }
    }

    // MARK: private

    private func resolve() {
        watchForFailovers()
        let queue = self.queue
        let attempt = lifecycle.failedAttempts
        if case .cluster(let seeds) = configuration.endpoint, !seeds.isEmpty { seedIndex = attempt % seeds.count }
        HostResolver.resolve(configuration.endpoint, attempt: attempt, timeout: configuration.connectTimeout) { [self] result in
            // The resolver may call back on another thread: hop to the queue first. The strong captures
            // here and in the connection callbacks last until the connection reports it closed.
            queue.async { self.resolved(result) }
        }
    }

    private func resolved(_ result: Result<ResolvedEndpoint, RedisError>) {
        switch result {
        case .failure(let error):
            if let failure = lifecycle.resolveFailed(error) { attemptFailed(failure) }
        case .success(let endpoint):
            attemptedEndpoint = endpoint
            let connection = HiredisConnection(
                queue: queue,
                configuration: configuration,
                tls: loadTLSContext(),
                logger: logger,
                onEvent: { [self] event in handle(event) },
                onPush: { [self] push in delegate?.supervisor(received: push) },
                onReadEvent: { [self] in delegate?.supervisorDidFinishReadEvent() }
            )
            if lifecycle.resolved(connection) { connection.start(endpoint) }
        }
    }

    private func loadTLSContext() -> Result<TLSContext, RedisError>? {
        guard let tls = configuration.tls else { return nil }
        if let tlsContext { return .success(tlsContext) }
        let loaded = Result { () throws(RedisError) in try TLSContext(tls) }
        tlsContext = try? loaded.get()
        return loaded
    }

    private func handle(_ event: HiredisConnection.Event) {
        switch event {
        case .ready:
            guard case .handOut(let connection, let isReconnection) = lifecycle.connectionReady() else { return }
            if let announced = announcedPrimary {
                announcedPrimary = nil
                if !isAttempt(at: announced) {
                    return connection.abort(.connectionLost("Sentinel moved the primary to \(announced): reconnecting to it"))
                }
            }
            if isReconnection { reconnects.increment() }
            if isInOutage {
                isInOutage = false
                logger.notice("redis connection restored", metadata: ["redis.connection": "\(role)"])
            }
            scheduleSeedProbe(for: connection)
            delegate?.supervisor(connected: connection)
            let waiting = waiters
            waiters = []
            for waiter in waiting { waiter(.success(connection)) }
        case .closed(let error):
            cancelSeedProbe()
            switch lifecycle.connectionClosed(error) {
            case .attemptFailed(let failure):
                attemptFailed(failure)
            case .connectionLost(let error, let failedAttempts):
                outageBegins("redis connection lost, reconnecting", error)
                delegate?.supervisor(lostConnection: error)
                scheduleReconnect(afterFailedAttempts: failedAttempts)
            case .closeCompleted:
                let completions = closeCompletions
                closeCompletions = []
                for completion in completions { completion() }
            case .ignore:
                break
            }
        }
    }

    /// On a cluster, a connection that had to take a later seed checks the earlier ones every
    /// ``SeedProbe/interval`` and drops itself once one answers, so the reconnection goes back to it (see
    /// ``SeedProbe``).
    private func scheduleSeedProbe(for connection: HiredisConnection) {
        guard case .cluster(let seeds) = configuration.endpoint, seedIndex > 0, seedIndex < seeds.count else { return }
        let earlier = Array(seeds[..<seedIndex])
        let timeout = configuration.connectTimeout
        seedProbeNumber += 1
        let number = seedProbeNumber
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + SeedProbe.interval.dispatchInterval)
        timer.setEventHandler { [self] in
            DispatchQueue.global().async { [self] in
                let answering = SeedProbe.firstAnswering(earlier, timeout: timeout)
                queue.async { [self] in
                    guard seedProbeNumber == number, lifecycle.readyConnection === connection else { return }
                    guard let answering else { return scheduleSeedProbe(for: connection) }
                    logger.debug("redis cluster: an earlier seed answers again, moving back to it", metadata: ["redis.node": "\(answering)"])
                    connection.abort(.connectionLost("seed \(answering) answers again: moving back to it"))
                }
            }
        }
        seedProbeTimer = timer
        timer.resume()
    }

    /// For a Sentinel endpoint, starts the watch of the sentinels' failover announcements, once.
    private func watchForFailovers() {
        guard case .sentinel(let sentinel) = configuration.endpoint, switchWatcher == nil else { return }
        let queue = self.queue
        // Weak: the watcher lives until the close, which the supervisor's owner makes when it goes.
        switchWatcher = SentinelSwitchWatcher(sentinel, base: configuration, logger: logger) { [weak self] address in
            guard let self else { return }
            queue.async { self.primaryMoved(to: address) }
        }
    }

    /// The sentinels moved the primary to `address`: a connection to another server drops, so that the next
    /// attempt asks them for the new one (nothing in flight is re-sent, as after any drop).
    private func primaryMoved(to address: RedisAddress) {
        guard address != lastAnnouncedPrimary else { return }
        lastAnnouncedPrimary = address
        guard let connection = lifecycle.readyConnection else {
            announcedPrimary = address
            return
        }
        if isAttempt(at: address) { return }
        logger.info("redis sentinel: the primary moved, reconnecting", metadata: ["redis.connection": "\(role)", "redis.node": "\(address)"])
        connection.abort(.connectionLost("Sentinel moved the primary to \(address): reconnecting to it"))
    }

    /// Whether the latest attempt went to `address`, as the sentinels name it (an IP address, or a host name
    /// where they announce host names).
    private func isAttempt(at address: RedisAddress) -> Bool {
        guard case .tcp(let host, _, let port)? = attemptedEndpoint else { return false }
        return host == address.host && Int(port) == address.port
    }

    private func cancelSeedProbe() {
        seedProbeTimer?.cancel()
        seedProbeTimer = nil
        seedProbeNumber += 1
    }

    private func attemptFailed(_ failure: ConnectionStateMachine<HiredisConnection>.AttemptFailure) {
        outageBegins("could not connect to redis, retrying", failure.error)
        logger.debug("redis connection attempt failed", metadata: ["redis.reason": "\(failure.error)"])
        delegate?.supervisor(attemptFailed: failure.error)
        failWaiters(failure.error)
        scheduleReconnect(afterFailedAttempts: failure.failedAttempts)
    }

    /// Logs `message` at warning level if this starts an outage.
    private func outageBegins(_ message: Logger.Message, _ error: RedisError) {
        guard !isInOutage else { return }
        isInOutage = true
        logger.warning(message, metadata: ["redis.connection": "\(role)", "redis.reason": "\(error)"])
    }

    private func scheduleReconnect(afterFailedAttempts failedAttempts: Int) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + backoff.delay(afterFailedAttempts: failedAttempts).dispatchInterval)
        // The handler holds the supervisor until it fires or the close cancels it; dropping the timer then
        // ends the cycle.
        timer.setEventHandler { [self] in
            reconnectTimer = nil
            if lifecycle.reconnectTimerFired() { resolve() }
        }
        reconnectTimer = timer
        timer.resume()
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
