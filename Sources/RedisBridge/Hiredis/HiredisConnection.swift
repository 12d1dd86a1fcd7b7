import CHiredis
import DequeModule
import Dispatch
import Logging
/// One hiredis async context, from connect to free: the handshake (`AUTH`, `SELECT`), commands with their
/// replies matched in order, subscription pushes, the connect timeout and a no-progress command watchdog
/// (hiredis 0.14 has no timeouts of its own).
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
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private var adapter: EventLoopAdapter?
    private var pending = Deque<PendingReply>()
    /// The most replies awaited at once since `pending` was last empty: after a burst of pipelined commands
    /// the queue's storage is given back rather than kept for the next one.
    private var pendingHighWater = 0
    private var awaitedConfirmations = 0
    private var lastProgress: UInt64 = 0
    private var closeReason: RedisError?
    private var connectTimer: DispatchSourceTimer?
    private var watchdog: DispatchSourceTimer?
    private(set) var isReady = false

    init(
        queue: DispatchQueue,
        configuration: RedisConfiguration,
        logger: Logger,
        onEvent: @escaping (Event) -> Void,
        onPush: @escaping (PushMessage) -> Void = { _ in },
        onReadEvent: @escaping () -> Void = {}
    ) {
        self.queue = queue
        self.configuration = configuration
        self.logger = logger
        self.onEvent = onEvent
        self.onPush = onPush
        self.onReadEvent = onReadEvent
    }

    /// Starts connecting; the outcome arrives as an ``Event``.
    func start(_ endpoint: ResolvedEndpoint) {
        let created: UnsafeMutablePointer<redisAsyncContext>? = switch endpoint {
        case .tcp(let address, let port): redisAsyncConnect(address, Int32(port))
        case .unixSocket(let path): redisAsyncConnectUnix(path)
        }
        guard let created else { return failBeforeContext("out of memory") }
        guard chiredis_context_err(created) == 0 else {
            let reason = String(cString: chiredis_context_errstr(created))
            redisAsyncFree(created)
            return failBeforeContext(reason)
        }
        guard let adapter = EventLoopAdapter.attach(to: created, queue: queue, delegate: self) else {
            redisAsyncFree(created)
            return failBeforeContext("could not duplicate the socket descriptor")
        }
        context = created
        self.adapter = adapter
        created.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        if case .tcp = endpoint { _ = chiredis_enable_keepalive(created) }
        // After the adapter: this calls addWrite at once, and connect completion shows as writability.
        redisAsyncSetConnectCallback(created, hiredisConnectTrampoline)
        connectTimer = makeTimer(after: configuration.connectTimeout) { [self] in
            abort(.connectTimeout(configuration.connectTimeout))
        }
    }

    /// Sends a command once ready; before that (or after the context is gone) `reply` fails at once.
    func send(_ arguments: [RESPArgument], _ reply: PendingReply) {
        guard isReady else { return reply.complete(.failure(closeReason ?? .closed)) }
        enqueue(arguments, reply)
    }

    /// Sends `SUBSCRIBE` or `UNSUBSCRIBE` for `channels`; confirmations arrive as ``PushMessage``s. Returns
    /// `false` if the connection cannot send.
    func sendSubscription(_ command: String, channels: [String]) -> Bool {
        guard isReady, let context else { return false }
        let arguments = [RESPArgument.string(command)] + channels.map(RESPArgument.string)
        let status = encoder.withEncoded(arguments) { command, length in
            redisAsyncFormattedCommand(context, hiredisPushTrampoline, Unmanaged.passUnretained(self).toOpaque(), command, length)
        }
        guard status == REDIS_OK else { return false }
        markBusy()
        awaitedConfirmations += channels.count
        return true
    }

    /// Disconnects after the pending replies arrived (hiredis's `redisAsyncDisconnect`).
    func close() {
        if closeReason == nil { closeReason = .closed }
        guard let context else { return }
        if isReady {
            redisAsyncDisconnect(context)
        } else {
            abort(.closed)
        }
    }

    /// Drops the connection at once; pending commands fail with `reason`. The free happens on a later turn
    /// of the queue, so it is never inside a hiredis callback.
    func abort(_ reason: RedisError) {
        if closeReason == nil { closeReason = reason }
        queue.async { [self] in
            if let context { redisAsyncFree(context) }
        }
    }

    // MARK: hiredis callbacks

    func didConnect(status: Int32, reason: String) {
        guard status == REDIS_OK else {
            // hiredis frees the context right after this callback; cleanup reports it.
            if closeReason == nil { closeReason = .connectionFailed(reason) }
            return
        }
        logger.trace("redis connected", metadata: ["redis.server": "\(configuration)"])
        var handshake: [(command: [RESPArgument], isAuth: Bool)] = []
        if let password = configuration.password {
            let command: [RESPArgument] = if let username = configuration.username {
                ["AUTH", .string(username), .string(password)]
            } else {
                ["AUTH", .string(password)]
            }
            handshake.append((command, true))
        }
        if configuration.database != 0 {
            handshake.append((["SELECT", RESPArgument(configuration.database)], false))
        }
        var remaining = handshake.count
        guard remaining > 0 else { return becomeReady() }
        for step in handshake {
            enqueue(step.command, .callback { [self] result in
                switch result {
                case .success:
                    remaining -= 1
                    if remaining == 0, closeReason == nil { becomeReady() }
                case .failure(.server(let message)):
                    abort(step.isAuth ? .authenticationFailed(message) : .server(message))
                case .failure(let error):
                    abort(error)
                }
            })
        }
    }

    func didReceiveReply(_ reply: UnsafeMutablePointer<redisReply>?) {
        guard let entry = pending.popFirst() else { return }
        if pending.isEmpty, pendingHighWater > 1024 {
            pending = Deque()
            pendingHighWater = 0
        }
        guard let reply else { return entry.complete(.failure(lostConnectionError())) }
        if case .discard = entry {
            if reply.pointee.type == REDIS_REPLY_ERROR {
                logger.debug("redis error reply to a command sent without waiting",
                             metadata: ["redis.error": "\(RedisValue.text(of: reply.pointee))"])
            }
            return
        }
        switch RedisValue(copying: reply) {
        case .error(let message): entry.complete(.failure(.server(message)))
        case let value: entry.complete(.success(value))
        }
    }

    func didReceivePush(_ reply: UnsafeMutablePointer<redisReply>) {
        let push = reply.pointee
        guard push.type == REDIS_REPLY_ARRAY, push.elements >= 3,
              let kind = push.element[0]?.pointee, let name = push.element[1]?.pointee,
              let payload = push.element[2]?.pointee, let first = kind.str?.pointee
        else { return }
        let channel = RedisValue.text(of: name)
        switch (kind.len, UInt8(bitPattern: first) | 0x20) {
        case (7, UInt8(ascii: "m")):
            onPush(.message(channel: channel, payload: RedisValue.bytes(of: payload)))
        case (9, UInt8(ascii: "s")):
            awaitedConfirmations = max(0, awaitedConfirmations - 1)
            onPush(.subscribed(channel: channel))
        case (11, UInt8(ascii: "u")):
            awaitedConfirmations = max(0, awaitedConfirmations - 1)
            onPush(.unsubscribed(channel: channel))
        default:
            break
        }
    }

    // MARK: EventLoopAdapterDelegate

    func adapterDidFinishReadEvent() {
        lastProgress = DispatchTime.now().uptimeNanoseconds
        onReadEvent()
    }

    func adapterDidCleanUp(reason: String?) {
        let wasReady = isReady
        context = nil
        adapter = nil
        isReady = false
        connectTimer?.cancel()
        watchdog?.cancel()
        let error = closeReason ?? (wasReady
            ? .connectionLost(reason ?? "the server closed the connection")
            : .connectionFailed(reason ?? "the connection closed during the handshake"))
        closeReason = error
        // hiredis already failed every pending callback with a NULL reply; this only catches stragglers.
        while let entry = pending.popFirst() { entry.complete(.failure(error)) }
        logger.trace("redis connection closed", metadata: ["redis.reason": "\(error)"])
        onEvent(.closed(error))
    }

    // MARK: private

    private func enqueue(_ arguments: [RESPArgument], _ reply: PendingReply) {
        guard let context else { return reply.complete(.failure(closeReason ?? .closed)) }
        let status = encoder.withEncoded(arguments) { command, length in
            redisAsyncFormattedCommand(context, hiredisReplyTrampoline, Unmanaged.passUnretained(self).toOpaque(), command, length)
        }
        guard status == REDIS_OK else {
            return reply.complete(.failure(closeReason ?? .connectionLost("the connection is closing")))
        }
        markBusy()
        pending.append(reply)
        pendingHighWater = max(pendingHighWater, pending.count)
    }

    /// The watchdog measures silence from the moment the connection starts waiting for something.
    private func markBusy() {
        if pending.isEmpty && awaitedConfirmations == 0 {
            lastProgress = DispatchTime.now().uptimeNanoseconds
        }
    }

    private func becomeReady() {
        isReady = true
        connectTimer?.cancel()
        let timeout = configuration.commandTimeout
        let period = Duration.nanoseconds(max(timeout.nanoseconds / 4, 5_000_000))
        watchdog = makeTimer(after: period, repeating: period) { [self] in
            let silence = DispatchTime.now().uptimeNanoseconds &- lastProgress
            if (!pending.isEmpty || awaitedConfirmations > 0), silence > UInt64(max(0, timeout.nanoseconds)) {
                logger.debug("redis command timeout: resetting the connection")
                abort(.commandTimeout(timeout))
            }
        }
        onEvent(.ready)
    }

    private func lostConnectionError() -> RedisError {
        if let closeReason { return closeReason }
        if let context, chiredis_context_err(context) != 0 {
            return .connectionLost(String(cString: chiredis_context_errstr(context)))
        }
        return .connectionLost("the connection closed")
    }

    private func failBeforeContext(_ reason: String) {
        closeReason = .connectionFailed(reason)
        queue.async { [self] in onEvent(.closed(.connectionFailed(reason))) }
    }

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
