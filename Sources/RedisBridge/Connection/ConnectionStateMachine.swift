/// The lifecycle of one supervised Redis connection, as a value: each event is a transition that returns what
/// the ``ConnectionSupervisor`` must do. It decides; the supervisor resolves hosts, starts hiredis contexts,
/// arms timers and calls back.
///
/// ```
/// idle ─► resolving ─► connecting ─► ready ──(drop)──► waitingToReconnect ─► resolving ...
///             └──(failure)──┴──► waitingToReconnect
/// any ─► close() ─► closing (a context to free) ─► closed
/// ```
///
/// Generic over the connection so that tests drive it with plain values.
struct ConnectionStateMachine<Connection> {
    enum State {
        case idle
        case resolving
        case connecting(Connection)
        case ready(Connection)
        case waitingToReconnect
        case closing(Connection)
        case closed
    }

    private(set) var state = State.idle
    /// Failed attempts since the last ready connection: the exponent of the reconnect backoff.
    private(set) var failedAttempts = 0
    /// Whether a connection was ready before: the next ready one is a reconnection.
    private var wasConnected = false

    /// The ready connection, if there is one now.
    var readyConnection: Connection? {
        if case .ready(let connection) = state { return connection }
        return nil
    }

    // MARK: requests from callers

    enum ConnectionRequestAction {
        /// Call the caller at once with this connection.
        case use(Connection)
        /// Fail the caller at once.
        case fail(RedisError)
        /// Keep the caller until the attempt under way (or the one this starts) ends.
        case wait(startResolving: Bool)
    }

    /// A caller needs the connection.
    mutating func connectionRequested() -> ConnectionRequestAction {
        switch state {
        case .ready(let connection):
            return .use(connection)
        case .closing, .closed:
            return .fail(.closed)
        case .idle:
            state = .resolving
            return .wait(startResolving: true)
        case .resolving, .connecting, .waitingToReconnect:
            return .wait(startResolving: false)
        }
    }

    /// Connect ahead of the first caller: whether to start resolving.
    mutating func startRequested() -> Bool {
        guard case .idle = state else { return false }
        state = .resolving
        return true
    }

    enum CloseAction {
        /// Close this context (after its pending replies) and fail the waiting callers; the close completes
        /// when it reports closed.
        case closeConnection(Connection)
        /// Already closing: complete with the close under way.
        case waitForClose
        /// Nothing to free: fail the waiting callers (if `failWaiters`), stop the reconnect timer (if
        /// `cancelReconnectTimer`), and complete at once.
        case completeNow(failWaiters: Bool, cancelReconnectTimer: Bool)
    }

    /// The owner closes the connection for good.
    mutating func closeRequested() -> CloseAction {
        switch state {
        case .closed:
            return .completeNow(failWaiters: false, cancelReconnectTimer: false)
        case .closing:
            return .waitForClose
        case .ready(let connection), .connecting(let connection):
            state = .closing(connection)
            return .closeConnection(connection)
        case .waitingToReconnect:
            state = .closed
            return .completeNow(failWaiters: true, cancelReconnectTimer: true)
        case .idle, .resolving:
            state = .closed
            return .completeNow(failWaiters: true, cancelReconnectTimer: false)
        }
    }

    // MARK: events of an attempt

    /// What to do after an attempt failed: fail the waiting callers with `error`, then try again after the
    /// backoff for ``failedAttempts``.
    struct AttemptFailure {
        let error: RedisError
        let failedAttempts: Int
    }

    /// The host resolved: whether to start a connection to it (not if closed meanwhile).
    mutating func resolved(_ connection: Connection) -> Bool {
        guard case .resolving = state else { return false }
        state = .connecting(connection)
        return true
    }

    /// The host did not resolve; `nil` if the attempt was abandoned (closed meanwhile).
    mutating func resolveFailed(_ error: RedisError) -> AttemptFailure? {
        guard case .resolving = state else { return nil }
        return attemptFailed(error)
    }

    enum ReadyAction {
        /// Hand the connection to the delegate, then to the waiting callers.
        case handOut(Connection, isReconnection: Bool)
        case ignore
    }

    /// The connection finished its handshake.
    mutating func connectionReady() -> ReadyAction {
        guard case .connecting(let connection) = state else { return .ignore }
        state = .ready(connection)
        failedAttempts = 0
        defer { wasConnected = true }
        return .handOut(connection, isReconnection: wasConnected)
    }

    enum ClosedAction {
        /// A connection attempt failed.
        case attemptFailed(AttemptFailure)
        /// A ready connection dropped: tell the delegate, reconnect after the backoff for `failedAttempts`.
        case connectionLost(RedisError, failedAttempts: Int)
        /// The close the owner asked for is complete.
        case closeCompleted
        case ignore
    }

    /// The current context is gone (hiredis freed it).
    mutating func connectionClosed(_ error: RedisError) -> ClosedAction {
        switch state {
        case .connecting:
            return .attemptFailed(attemptFailed(error))
        case .ready:
            state = .waitingToReconnect
            return .connectionLost(error, failedAttempts: failedAttempts)
        case .closing:
            state = .closed
            return .closeCompleted
        case .idle, .resolving, .waitingToReconnect, .closed:
            return .ignore
        }
    }

    /// The backoff passed: whether to start resolving again.
    mutating func reconnectTimerFired() -> Bool {
        guard case .waitingToReconnect = state else { return false }
        state = .resolving
        return true
    }

    private mutating func attemptFailed(_ error: RedisError) -> AttemptFailure {
        failedAttempts += 1
        state = .waitingToReconnect
        return AttemptFailure(error: error, failedAttempts: failedAttempts)
    }
}
