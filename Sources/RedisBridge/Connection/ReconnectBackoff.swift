/// The delay before a reconnection attempt: exponential from the initial delay up to the maximum, with up to
/// 25 % jitter so that many processes do not reconnect in step after a Redis restart.
struct ReconnectBackoff {
    let initialDelay: Duration
    let maximumDelay: Duration

    /// The delay after `failedAttempts` failures in a row (0 after a drop of a ready connection); `jitter` is in
    /// `0...1`.
    func delay(afterFailedAttempts failedAttempts: Int, jitter: Double = .random(in: 0...1)) -> Duration {
        let initial = max(1, initialDelay.nanoseconds)
        let maximum = max(initial, maximumDelay.nanoseconds)
        let base = min(maximum, initial << min(failedAttempts, 20))
        return .nanoseconds(base + Int(Double(base / 4) * min(max(jitter, 0), 1)))
    }
}
