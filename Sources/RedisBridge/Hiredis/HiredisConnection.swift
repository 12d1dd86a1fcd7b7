import CHiredis
import Dispatch
import Logging

/// One hiredis async context, from connect to free: the ``ConnectionHandshake``, commands with their replies
/// matched in order (``AwaitedReplies``), subscription pushes, the connect timeout and the reply timeout
/// (hiredis 0.14 has no timeouts of its own). Its phases are a ``HiredisConnectionStateMachine``.
///
/// A new instance is made for every (re)connection; ``ConnectionSupervisor`` owns it and keeps it alive
/// until it reports ``Event/closed(_:)``, which happens exactly once, after hiredis freed the context.
///
/// - Important: Every method runs on `queue`, the connection's serial executor. hiredis callbacks arrive on
///   it too, because the event sources that drive hiredis run there.
final class HiredisConnection: EventLoopAdapterDelegate {
    enum Event {
        /// Connected, authenticated and on the right database.
        case ready
        /// The context is gone; the error says why (``RedisError/closed`` after ``close()``).
        case closed(RedisError)
    }

    private let queue: DispatchQueue
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let onEvent: (Event) -> Void
    private let onPush: (PushMessage) -> Void
    private let onReadEvent: () -> Void
    private let encoder = CommandEncoder()
    /// For `rediss://`: the TLS context, or why it could not be made.
    private let tls: Result<TLSContext, RedisError>?

    /// A hiredis context and what drives it from the queue's event sources (kept alive as long as the context).
    private struct Link {
        let context: UnsafeMutablePointer<redisAsyncContext>
        let adapter: EventLoopAdapter
    }

    private var state = HiredisConnectionStateMachine<Link, TLSTunnel>()
    private var awaited = AwaitedReplies()
    private var connectTimer: DispatchSourceTimer?
    /// Checks ``AwaitedReplies/isOverdue(now:timeout:)`` a few times per command timeout.
    private var replyTimeoutTimer: DispatchSourceTimer?

    init(
        queue: DispatchQueue,
        configuration: RedisConfiguration,
        tls: Result<TLSContext, RedisError>? = nil,
        logger: Logger,
        onEvent: @escaping (Event) -> Void,
        onPush: @escaping (PushMessage) -> Void = { _ in },
        onReadEvent: @escaping () -> Void = {}
    ) {
        self.queue = queue
        self.configuration = configuration
        self.tls = tls
        self.logger = logger
        self.onEvent = onEvent
        self.onPush = onPush
        self.onReadEvent = onReadEvent
    }

    /// Starts connecting (through a ``TLSTunnel`` for `rediss://`); the outcome arrives as an ``Event``. The
    /// connect timeout covers the TLS handshake too.
    func start(_ endpoint: ResolvedEndpoint) {
        dispatchPrecondition(condition: .onQueue(queue))
        connectTimer = makeTimer(after: configuration.connectTimeout) { [self] in
            abort(.connectTimeout(configuration.connectTimeout))
        }
        do throws(RedisError) {
            guard let tls else { return try openContext(endpoint) }
            guard case .tcp(let host, let address, let port) = endpoint else {
                throw .tls("TLS needs a host to verify: a TCP endpoint, not a unix socket")
            }
            let tunnel = try TLSTunnel(context: tls.get(), host: host, queue: queue)
            state.tunnelStarted(tunnel)
            tunnel.connect(address: address, port: port, onFailure: { [self] in abort($0) }) { [self] error in
                if let error { return abort(error) }
                do throws(RedisError) {
                    try tunnel.attachClient { path throws(RedisError) in try openContext(.unixSocket(path: path)) }
                } catch {
                    abort(error)
                }
            }
        } catch {
            reportClosedBeforeContext(state.failedBeforeContext(error))
        }
    }

    /// Sends a command once ready; before that (or after the context is gone) `reply` fails at once.
    func send(_ arguments: [RESPArgument], _ reply: PendingReply) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let link = state.readyLink else { return reply.complete(.failure(state.sendFailure)) }
        // Its reply would never be matched: the connection reads pushes only.
        precondition(!link.adapter.readsRepliesItself, "a command on a connection that subscribed")
        enqueue(arguments, reply)
    }

    /// Sends `command` for `channels`; confirmations, messages and refusals arrive as ``PushMessage``s. Returns
    /// `false` if the connection cannot send.
    ///
    /// From the first subscription on, the connection reads its replies itself instead of through hiredis's
    /// callback lists (which know only classic pub/sub, and end the process on a push they do not know): only
    /// subscription commands may be sent from then on, and nothing else may be awaited then.
    func sendSubscription(_ command: SubscriptionCommand, channels: [String]) -> Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let link = state.readyLink, !channels.isEmpty else { return false }
        if !link.adapter.readsRepliesItself {
            precondition(!awaited.isWaiting, "a subscription on a connection that awaits a command's reply")
            link.adapter.readsRepliesItself = true
        }
        let arguments = [RESPArgument.string(command.name)] + channels.map(RESPArgument.string)
        let status = encoder.withEncoded(arguments) { formatted, length in
            chiredis_append_formatted_command(link.context, formatted, length)
        }
        guard status == REDIS_OK else { return false }
        link.adapter.requestWrite()
        awaited.subscriptionSent(command, channels: channels, now: Self.now)
        return true
    }

    /// Disconnects after the pending replies arrived (hiredis's `redisAsyncDisconnect`).
    func close() {
        dispatchPrecondition(condition: .onQueue(queue))
        end(state.closeRequested())
    }

    /// Drops the connection at once; pending commands fail with `reason`. The free happens on a later turn
    /// of the queue, so it is never inside a hiredis callback. Before hiredis has a context (a TLS tunnel
    /// still connecting), the attempt ends with `reason`; a tunnel that fails later comes here too, so the
    /// drop carries its reason rather than hiredis's "the local socket closed".
    func abort(_ reason: RedisError) {
        end(state.abortRequested(reason))
    }

    private func end(_ action: HiredisConnectionStateMachine<Link, TLSTunnel>.EndAction) {
        switch action {
        case .disconnect(let link):
            redisAsyncDisconnect(link.context)
        case .scheduleFree:
            queue.async { [self] in
                if let link = state.link { redisAsyncFree(link.context) }
            }
        case .abandon(let tunnel, let error):
            tunnel.close()
            reportClosedBeforeContext(error)
        case .none:
            break
        }
    }

    // MARK: hiredis callbacks

    func didConnect(status: Int32, reason: String) {
        guard status == REDIS_OK else {
            // hiredis frees the context right after this callback; cleanup reports it.
            return state.connectFailed(reason)
        }
        logger.trace("redis connected", metadata: ["redis.server": "\(configuration)"])
        let steps = ConnectionHandshake(configuration).steps
        var remaining = steps.count
        guard remaining > 0 else { return becomeReady() }
        for step in steps {
            enqueue(
                step.command,
                .callback { [self] result in
                    switch result {
                    case .success(let reply):
                        if let refusal = ConnectionHandshake.refusal(of: step, reply) { return abort(refusal) }
                        remaining -= 1
                        if remaining == 0 { becomeReady() }
                    case .failure(let error):
                        abort(ConnectionHandshake.failure(of: step, error))
                    }
                })
        }
    }

    func didReceiveReply(_ reply: UnsafeMutablePointer<redisReply>?) {
        guard let entry = awaited.popFirst() else { return }
        guard let reply else { return entry.complete(.failure(lostConnectionError())) }
        if reply.pointee.type == REDIS_REPLY_ERROR { noticeDemotion(RedisValue.text(of: reply.pointee)) }
        if case .discard = entry {
            if reply.pointee.type == REDIS_REPLY_ERROR {
                logger.debug(
                    "redis error reply to a command sent without waiting",
                    metadata: ["redis.error": "\(RedisValue.text(of: reply.pointee))"])
            }
            return
        }
        switch RedisValue(copying: reply) {
        case .error(let message): entry.complete(.failure(.server(message)))
        case let value: entry.complete(.success(value))
        }
    }

    /// A primary that Sentinel demoted while this connection stayed up answers writes with `-READONLY`: drop
    /// the connection, so the next attempt asks the sentinels for the new primary.
    private func noticeDemotion(_ error: String) {
        guard case .sentinel = configuration.endpoint, error.hasPrefix("READONLY") else { return }
        abort(.connectionLost("the server became a replica (a failover): reconnecting to the new primary"))
    }

    // MARK: EventLoopAdapterDelegate

    func adapterDidRead(_ reply: UnsafePointer<redisReply>) {
        if reply.pointee.type == REDIS_REPLY_ERROR {
            let error = RedisValue.text(of: reply.pointee)
            let redirect: Int? = if case .moved(let slot, _)? = ClusterRedirect(error) { slot } else { nil }
            let channels = awaited.subscriptionRefused(redirectedSlot: redirect)
            guard !channels.isEmpty else {
                return logger.debug("redis refused a subscription command already answered: ignored", metadata: ["redis.error": "\(error)"])
            }
            logger.debug("redis refused a subscription", metadata: ["redis.error": "\(error)", "redis.channels": "\(channels)"])
            return onPush(.refused(channels: channels, error: error))
        }
        guard let push = PushReply(copying: reply) else {
            return logger.debug("redis sent a reply a subscriber does not expect: ignored")
        }
        switch push.kind {
        case .message:
            onPush(.message(channel: push.channel, payload: push.payload))
        case .confirmation(let command):
            let wasAsked = awaited.confirmationReceived(command, channel: push.channel)
            if !wasAsked, command == .shardUnsubscribe { return onPush(.unsubscribedByServer(channel: push.channel)) }
            onPush(command.subscribes ? .subscribed(channel: push.channel) : .unsubscribed(channel: push.channel))
        }
    }

    func adapterDidFinishReadEvent() {
        awaited.progressed(now: Self.now)
        onReadEvent()
    }

    func adapterDidCleanUp(reason: String?) {
        let (tunnel, error) = state.cleanedUp(reason: reason)
        tunnel?.close()
        connectTimer?.cancel()
        replyTimeoutTimer?.cancel()
        // hiredis already failed every pending callback with a NULL reply; this only catches stragglers.
        for entry in awaited.removeAll() { entry.complete(.failure(error)) }
        logger.trace("redis connection closed", metadata: ["redis.reason": "\(error)"])
        onEvent(.closed(error))
    }

    // MARK: private

    /// Creates the hiredis context for `endpoint` (the server, or the tunnel's local socket) and attaches the
    /// event-loop adapter.
    private func openContext(_ endpoint: ResolvedEndpoint) throws(RedisError) {
        let created: UnsafeMutablePointer<redisAsyncContext>? =
            switch endpoint {
            case .tcp(_, let address, let port): redisAsyncConnect(address, Int32(port))
            case .unixSocket(let path): redisAsyncConnectUnix(path)
            }
        guard let created else { throw .connectionFailed("out of memory") }
        guard chiredis_context_err(created) == 0 else {
            let reason = String(cString: chiredis_context_errstr(created))
            redisAsyncFree(created)
            throw .connectionFailed(reason)
        }
        setCloseOnExec(chiredis_context_fd(created))
        guard let adapter = EventLoopAdapter.attach(to: created, queue: queue, delegate: self) else {
            redisAsyncFree(created)
            throw .connectionFailed("could not duplicate the socket descriptor")
        }
        state.contextOpened(Link(context: created, adapter: adapter))
        created.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        if case .tcp = endpoint { _ = chiredis_enable_keepalive(created) }
        // After the adapter: this calls addWrite at once, and connect completion shows as writability.
        redisAsyncSetConnectCallback(created, hiredisConnectTrampoline)
    }

    private func enqueue(_ arguments: [RESPArgument], _ reply: PendingReply) {
        guard let context = state.link?.context else { return reply.complete(.failure(state.sendFailure)) }
        let status = encoder.withEncoded(arguments) { command, length in
            redisAsyncFormattedCommand(context, hiredisReplyTrampoline, Unmanaged.passUnretained(self).toOpaque(), command, length)
        }
        guard status == REDIS_OK else {
            return reply.complete(.failure(state.closeReason ?? .connectionLost("the connection is closing")))
        }
        awaited.append(reply, now: Self.now)
    }

    private func becomeReady() {
        guard state.handshakeCompleted() else { return }
        connectTimer?.cancel()
        let timeout = configuration.commandTimeout
        let period = Duration.nanoseconds(max(timeout.nanoseconds / 4, 5_000_000))
        replyTimeoutTimer = makeTimer(after: period, repeating: period) { [self] in
            if awaited.isOverdue(now: Self.now, timeout: timeout) {
                logger.debug("redis command timeout: resetting the connection")
                abort(.commandTimeout(timeout))
            }
        }
        onEvent(.ready)
    }

    private func lostConnectionError() -> RedisError {
        if let closeReason = state.closeReason { return closeReason }
        if let link = state.link, chiredis_context_err(link.context) != 0 {
            return .connectionLost(String(cString: chiredis_context_errstr(link.context)))
        }
        return .connectionLost("the connection closed")
    }

    /// Ends an attempt that never got a hiredis context.
    private func reportClosedBeforeContext(_ error: RedisError) {
        connectTimer?.cancel()
        queue.async { [self] in onEvent(.closed(error)) }
    }

    private static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    private func makeTimer(
        after delay: Duration, repeating: Duration? = nil, _ handler: @escaping () -> Void
    ) -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + delay.dispatchInterval, repeating: repeating?.dispatchInterval ?? .never)
        timer.setEventHandler(handler: handler)
        timer.resume()
        return timer
    }
}

// Confined to the connection's serial queue: every method, hiredis callback and timer runs there; the
// `@Sendable` closures it creates are only ever run on that queue too.
extension HiredisConnection: @unchecked Sendable {}
