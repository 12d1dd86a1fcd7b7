import Dispatch

extension Duration {
    /// The duration in nanoseconds, saturating, for dispatch timers.
    var nanoseconds: Int {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return Int(product) + Int(attoseconds / 1_000_000_000)
    }

    var dispatchInterval: DispatchTimeInterval { .nanoseconds(max(0, nanoseconds)) }

    /// Whole milliseconds, at least 1: Redis refuses an expiry of 0.
    var expiryMilliseconds: Int { max(1, nanoseconds / 1_000_000) }
}
