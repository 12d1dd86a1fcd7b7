import RedisBridge

/// What the backend reported about a producer's publishes, kept until the producer acts on it: listeners whose
/// channel had no subscriber left (forgotten at the next append), and framed listeners a publish failed to
/// reach (their text is sent again from the first offset they may have missed).
///
/// A lock of its own, apart from the producer's state: a backend may report while the producer holds that
/// state (the in-process one does), so a report never takes it. A re-send that is due is handed to the
/// producer's ``onResendDue(_:)`` instead, which serves it in a task.
final class DeliveryReports: Sendable {
    private struct Reports {
        var gone: Set<String> = []
        var undelivered: [String: Int] = [:]
        /// Whether a re-send was handed over and not served yet: several reports before it make one.
        var isResendDue = false
        var onResendDue: (@Sendable () -> Void)?
    }

    private let reports = Locked(Reports())

    /// Sets what a re-send that is due calls (once per re-send, outside the reports' lock); `nil` once the
    /// producer ended.
    func onResendDue(_ handler: (@Sendable () -> Void)?) {
        reports.withLock { $0.onResendDue = handler }
    }

    /// The publish to `channel` reached no subscriber: its listener went away.
    func listenerGone(_ channel: String) {
        reports.withLock { _ = $0.gone.insert(channel) }
    }

    /// A publish failed to reach the framed listener on `channel` (the command connection dropped with it in
    /// flight): its text from `offset` on is sent again as soon as possible, since the follower waits for it.
    func undelivered(_ channel: String, from offset: Int) {
        let resend = reports.withLock { reports -> (@Sendable () -> Void)? in
            reports.undelivered[channel] = min(reports.undelivered[channel] ?? offset, offset)
            defer { reports.isResendDue = true }
            return reports.isResendDue ? nil : reports.onResendDue
        }
        resend?()
    }

    /// Everything reported since the last call, for an append.
    func take() -> (gone: Set<String>, undelivered: [String: Int]) {
        reports.withLock { reports in
            defer { (reports.gone, reports.undelivered) = ([], [:]) }
            return (reports.gone, reports.undelivered)
        }
    }

    /// The undelivered text reported since the last call, for a re-send.
    func takeUndelivered() -> [String: Int] {
        reports.withLock { reports in
            defer {
                reports.undelivered = [:]
                reports.isResendDue = false
            }
            return reports.undelivered
        }
    }
}
