/// The time a context's waits and checks run on: the ack wait, the relays' recovery, the watchdog, the expiry
/// refresh, the linger and the durable log's batching. The continuous clock in use; a test's clock (any `Clock`
/// with `Duration`, such as swift-clocks' `TestClock`) in tests that move time themselves.
///
/// Instants stay `ContinuousClock.Instant`s: another clock's are mapped onto them from the moment the
/// `StreamClock` was made, so the state machines that keep instants need not know which clock runs.
struct StreamClock: Sendable {
    /// The current instant.
    let now: @Sendable () -> ContinuousClock.Instant
    /// Suspends for `duration` on the clock; throws `CancellationError` if the task is cancelled.
    let sleep: @Sendable (_ duration: Duration) async throws -> Void

    /// The continuous clock, which does not stop while the machine sleeps.
    static let continuous = StreamClock(now: { .now }, sleep: { try await Task.sleep(for: $0) })

    private init(now: @escaping @Sendable () -> ContinuousClock.Instant, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// Runs on `clock`.
    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let (base, start) = (ContinuousClock.now, clock.now)
        self.init(now: { base + start.duration(to: clock.now) }, sleep: { try await clock.sleep(for: $0) })
    }
}
