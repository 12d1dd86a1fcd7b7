import RedisBridge

/// A relay's wait for the producer's acknowledgement (its first message on the listener channel), settled once:
/// by the acknowledgement, by the news that nobody can answer, by the deadline or by the waiting task's
/// cancellation, whichever comes first.
///
/// The relay's read settles it and so resumes the waiting task itself, with no task in between: a resume waits
/// for one task wake-up after the acknowledgement is read, not for a child task's and then its group's.
final class AcknowledgementWait: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<Bool, Never>)
        case settled(isAcknowledged: Bool)
    }

    private let state = Locked(State.pending)

    /// Settles the wait, unless it was settled already: the first outcome stands.
    func settle(isAcknowledged: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            switch state {
            case .settled: return nil
            case .pending:
                state = .settled(isAcknowledged: isAcknowledged)
                return nil
            case .waiting(let waiter):
                state = .settled(isAcknowledged: isAcknowledged)
                return waiter
            }
        }
        waiter?.resume(returning: isAcknowledged)
    }

    /// Whether the acknowledgement came (at once if the wait was settled already), waiting for at most
    /// `timeout` on `clock`, whose sleep runs in a task of `work` that ends with the wait.
    func wait(within timeout: Duration, on clock: StreamClock, work: BackgroundWork) async -> Bool {
        if case .settled(let isAcknowledged) = state.withLock({ $0 }) { return isAcknowledged }
        let deadline = work.start { [self] in
            if (try? await clock.sleep(timeout)) != nil { settle(isAcknowledged: false) }
        }
        defer { deadline.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Bool, Never>) in
                let settled = state.withLock { state -> Bool? in
                    if case .settled(let isAcknowledged) = state { return isAcknowledged }
                    state = .waiting(waiter)
                    return nil
                }
                if let settled { waiter.resume(returning: settled) }
            }
        } onCancel: {
            settle(isAcknowledged: false)
        }
    }
}
