import RedisBridge
/// The work a context does beyond its callers' own tasks: its producers, their durable-log writers, its
/// followers' relays, the periodic sweeps and the watchdog's conclusions. All of it runs as children of one
/// task group, in the context's one root task, so that nothing outlives the context:
/// ``ResumableStreamContext/shutdown(gracePeriod:)`` returns only once every child has ended.
///
/// Each piece of work gets a ``BackgroundTask``, a handle that cancels it and awaits its result, as `Task`
/// would; the handle's cancellation cancels that child only.
final class BackgroundWork: Sendable {
    private typealias Work = @Sendable () async -> Void

    private let queue: AsyncStream<Work>.Continuation
    private let root: Task<Void, Never>
    private let running = Locked(0)

    /// How many pieces of work were started and have not ended.
    var runningCount: Int { running.withLock { $0 } }

    init() {
        let (works, queue) = AsyncStream<Work>.makeStream()
        self.queue = queue
        // The one unstructured task: the group's host. Children are added as work comes.
        root = Task {
            await withDiscardingTaskGroup { group in
                for await work in works { group.addTask { await work() } }
            }
        }
    }

    deinit {
        queue.finish()
    }

    /// Starts `work` as a child of the group. After ``finish()`` it still runs, in a task of its own.
    @discardableResult
    func start<Success: Sendable>(_ work: @escaping @Sendable () async -> Success) -> BackgroundTask<Success> {
        let task = BackgroundTask<Success>()
        running.withLock { $0 += 1 }
        let child: Work = { [running] in
            await task.run(work)
            running.withLock { $0 -= 1 }
        }
        if case .terminated = queue.yield(child) { Task(operation: child) }
        return task
    }

    /// Takes no more work and waits until every child has ended.
    func finish() async {
        queue.finish()
        await root.value
    }
}

/// A handle on one piece of a context's ``BackgroundWork``: cancels it, and awaits its result.
final class BackgroundTask<Success: Sendable>: Sendable {
    private struct State {
        var result: Success?
        var waiters: [CheckedContinuation<Success, Never>] = []
    }

    private let state = Locked(State())
    private let cancellations: AsyncStream<Void>
    private let cancellation: AsyncStream<Void>.Continuation

    fileprivate init() {
        (cancellations, cancellation) = AsyncStream<Void>.makeStream()
    }

    /// Cancels the work (it sees `Task.isCancelled`, and its sleeps and waits end), as `Task.cancel()` does.
    func cancel() {
        cancellation.finish()
    }

    /// The work's result, once it returned.
    var value: Success {
        get async {
            await withCheckedContinuation { continuation in
                let result = state.withLock { state in
                    if state.result == nil { state.waiters.append(continuation) }
                    return state.result
                }
                if let result { continuation.resume(returning: result) }
            }
        }
    }

    /// Which of a piece of work's two children ended.
    private enum Ended: Sendable {
        case work(Success)
        case cancellation
    }

    /// Runs `work` until it returns, cancelled once ``cancel()`` is called, then hands its result to the waiters.
    fileprivate func run(_ work: @escaping @Sendable () async -> Success) async {
        let result = await withTaskGroup(of: Ended.self) { group in
            group.addTask { .work(await work()) }
            group.addTask { [cancellations] in
                for await _ in cancellations {}
                return .cancellation
            }
            // The first child to end is the work (the wait for a cancellation is cancelled), or the
            // cancellation (the work is cancelled, and its result awaited).
            while let ended = await group.next() {
                group.cancelAll()
                if case .work(let result) = ended { return result }
            }
            preconditionFailure("the work's child always ends")
        }
        let waiters = state.withLock { state in
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}
