/// The life of one ``HiredisConnection``, as a value: each event is a transition that returns what the
/// connection must do with hiredis, the tunnel and its timers. It decides; the connection calls hiredis.
///
/// ```
/// initial ─┬────────────────────────────► open(isReady: false) ─(handshake done)─► open(isReady: true)
///          └─► tunnelling (rediss://) ─┘
/// any ─(close or abort; hiredis frees the context, or none came)─► closed
/// ```
///
/// Why the connection ends is kept from the moment something decided it (a close, an abort, a failed
/// connect), so the report and every failed command carry that first reason rather than hiredis's "the
/// socket closed" that follows it. Generic over the hiredis link and the tunnel so that tests drive it with
/// plain values.
struct HiredisConnectionStateMachine<Link, Tunnel> {
    enum Phase {
        /// Made; not started.
        case initial
        /// For `rediss://`: the tunnel connects and runs the TLS handshake; hiredis has no context yet.
        case tunnelling(Tunnel)
        /// hiredis has a context: connecting and running the handshake, then ready for commands.
        case open(Link, tunnel: Tunnel?, isReady: Bool)
        /// The context is gone (or never came), and the close was reported or is on its way.
        case closed
    }

    private(set) var phase = Phase.initial
    /// Why the connection ends, once something decided it.
    private(set) var closeReason: RedisError?

    /// The context, while there is one.
    var link: Link? {
        if case .open(let link, _, _) = phase { link } else { nil }
    }

    /// The context, once commands can be sent: connected, authenticated and on the right database.
    var readyLink: Link? {
        if case .open(let link, _, isReady: true) = phase { link } else { nil }
    }

    /// Why a command cannot be sent now.
    var sendFailure: RedisError { closeReason ?? .closed }

    // MARK: opening

    /// A `rediss://` attempt started its tunnel.
    mutating func tunnelStarted(_ tunnel: Tunnel) {
        guard case .initial = phase else { preconditionFailure("a tunnel started in phase \(phase)") }
        phase = .tunnelling(tunnel)
    }

    /// hiredis made its context (to the server, or to the tunnel's local socket). A closed tunnel reports
    /// nothing more, so this never follows an abandoned attempt.
    mutating func contextOpened(_ link: Link) {
        switch phase {
        case .initial: phase = .open(link, tunnel: nil, isReady: false)
        case .tunnelling(let tunnel): phase = .open(link, tunnel: tunnel, isReady: false)
        case .open, .closed: preconditionFailure("a context opened in phase \(phase)")
        }
    }

    /// hiredis could not connect; it frees the context right after, and ``cleanedUp(reason:)`` follows.
    mutating func connectFailed(_ reason: String) {
        if closeReason == nil { closeReason = .connectionFailed(reason) }
    }

    /// Every step of the handshake succeeded: whether the connection is now ready (not if something already
    /// decided to end it). If it is, stop the connect timer, start the reply timer and report ready.
    mutating func handshakeCompleted() -> Bool {
        guard closeReason == nil, case .open(let link, let tunnel, isReady: false) = phase else { return false }
        phase = .open(link, tunnel: tunnel, isReady: true)
        return true
    }

    // MARK: ending

    enum EndAction {
        /// Let hiredis disconnect once the pending replies arrived (`redisAsyncDisconnect`).
        case disconnect(Link)
        /// Free the context on a later turn of the queue, never inside a hiredis callback: ``link`` then, unless
        /// hiredis freed it meanwhile.
        case scheduleFree
        /// No context came: close the tunnel, stop the connect timer and report the close with this error.
        case abandon(Tunnel, RedisError)
        /// Nothing to end, or it is ending already.
        case none
    }

    /// The owner closes the connection: a ready one after its pending replies, one still connecting at once.
    mutating func closeRequested() -> EndAction {
        if case .open(let link, _, isReady: true) = phase {
            if closeReason == nil { closeReason = .closed }
            return .disconnect(link)
        }
        return abortRequested(.closed)
    }

    /// Drop the connection at once: pending commands fail with the close reason (`reason`, unless something
    /// decided earlier).
    mutating func abortRequested(_ reason: RedisError) -> EndAction {
        if closeReason == nil { closeReason = reason }
        switch phase {
        case .open: return .scheduleFree
        case .tunnelling(let tunnel):
            phase = .closed
            return .abandon(tunnel, closeReason ?? reason)
        case .initial, .closed: return .none
        }
    }

    /// The attempt failed before hiredis had a context (no TLS context, no hiredis context): report the
    /// close with the returned error, after stopping the connect timer.
    mutating func failedBeforeContext(_ error: RedisError) -> RedisError {
        phase = .closed
        if closeReason == nil { closeReason = error }
        return closeReason ?? error
    }

    /// hiredis freed the context (`ev.cleanup`, with its error text if it had one). Returns the tunnel to
    /// close and the error to fail stragglers with and report; stop both timers.
    mutating func cleanedUp(reason: String?) -> (tunnel: Tunnel?, error: RedisError) {
        var tunnel: Tunnel?
        var wasReady = false
        if case .open(_, let openTunnel, let isReady) = phase {
            tunnel = openTunnel
            wasReady = isReady
        }
        phase = .closed
        let error =
            closeReason
            ?? (wasReady
                ? .connectionLost(reason ?? "the server closed the connection")
                : .connectionFailed(reason ?? "the connection closed during the handshake"))
        closeReason = error
        return (tunnel, error)
    }
}
