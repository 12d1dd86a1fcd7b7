import RedisBridge

/// The work a context does beyond its callers' own tasks: its producers, their durable-log writers, its
/// followers' recoveries, the periodic sweeps and the watchdog's conclusions, counted so that
/// ``ResumableStreamContext/shutdown(gracePeriod:)`` returns only once every piece has ended (the shutdown starts
/// nothing after its wait).
///
/// Each piece of work is one task, detached from its starter's task-locals (a stream outlives the request that
/// started it), at the priority of the context's creation, and gets a ``BackgroundTask``, a handle that cancels
/// it and awaits its result.
/// One task a piece, nothing more: a live stream holds a few of them, and a task is most of what it costs.
final class BackgroundWork: Sendable {
    private struct State {
        var running = 0
        /// The ``finish()`` calls waiting for the last piece to end.
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Locked(State())
    /// The priority of the task that made the context: every piece of work runs at it.
    private let priority = Task.currentPriority

    /// How many pieces of work were started and have not ended.
    var runningCount: Int { state.withLock(\.running) }

    /// Starts `work` in a task of its own.
    @discardableResult
    func start<Success: Sendable>(_ work: @escaping @Sendable () async -> Success) -> BackgroundTask<Success> {
        state.withLock { $0.running += 1 }
        return BackgroundTask(
            Task.detached(priority: priority) { [self] in
                let result = await work()
                ended()
                return result
            })
    }

    /// Waits until every piece of work has ended, those started meanwhile included.
    func finish() async {
        await withCheckedContinuation { continuation in
            let isIdle = state.withLock { state in
                if state.running > 0 { state.idleWaiters.append(continuation) }
                return state.running == 0
            }
            if isIdle { continuation.resume() }
        }
    }

    private func ended() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A handle on one piece of a context's ``BackgroundWork``: cancels it, and awaits its result.
struct BackgroundTask<Success: Sendable>: Sendable {
    private let task: Task<Success, Never>

    fileprivate init(_ task: Task<Success, Never>) {
        self.task = task
    }

    /// Cancels the work (it sees `Task.isCancelled`, and its sleeps and waits end).
    func cancel() {
        task.cancel()
    }

    /// The work's result, once it returned.
    var value: Success {
        get async { await task.value }
    }
}
