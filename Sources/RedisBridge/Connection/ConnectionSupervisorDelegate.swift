/// What a ``ConnectionSupervisor`` tells its owner about the connection, on the connection's queue. The
/// subscriber connection's ``SubscriptionRegistry`` is one; a command connection needs none.
protocol ConnectionSupervisorDelegate: AnyObject {
    /// A (re)connection is ready; called before the callers waiting for it get it.
    func supervisor(connected connection: HiredisConnection)
    /// A ready connection dropped (not after ``ConnectionSupervisor/close(_:)``); a reconnection follows.
    func supervisor(lostConnection error: RedisError)
    /// A connection attempt failed; another follows after the backoff.
    func supervisor(attemptFailed error: RedisError)
    /// A subscription push of the current connection.
    func supervisor(received push: PushMessage)
    /// The end of one read event of the current connection: the pushes it carried were all delivered.
    func supervisorDidFinishReadEvent()
}
