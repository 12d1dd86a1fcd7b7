import Dispatch

/// Hands a subscriber connection's events to their receivers, in order: on the connection's queue while nothing
/// waits and a read brought little, else on a queue of its own. The work receivers do with a burst then never
/// holds back the reading of the socket (Redis closes a subscriber connection whose output buffer outgrows its
/// limit, 32 MB by default), while a trickle of messages costs no hand-over at all.
final class SubscriberDelivery: Sendable {
    /// The most events of one read handed over on the connection's queue.
    static let inlineLimit = 64

    private let queue: DispatchQueue
    /// Hand-overs passed to `queue` and not done yet.
    private let waiting = Locked(0)

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `handOver` now if it is small and nothing handed over earlier still waits, else on the delivery
    /// queue after what waits. Called from the connection's queue only.
    func deliver(isSmall: Bool, _ handOver: @escaping @Sendable () -> Void) {
        let isIdle = waiting.withLock { waiting in
            guard waiting > 0 || !isSmall else { return true }
            waiting += 1
            return false
        }
        guard !isIdle else { return handOver() }
        queue.async { [waiting] in
            handOver()
            waiting.withLock { $0 -= 1 }
        }
    }
}
