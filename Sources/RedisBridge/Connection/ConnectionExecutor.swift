import Dispatch

/// The serial executor of one Redis connection: a dispatch queue that runs the connection actor's jobs, the
/// hiredis event sources, the hiredis callbacks and the timers. Everything that touches a `redisAsyncContext`
/// runs here, which is what hiredis requires ("A redisAsyncContext is not thread-safe").
///
/// swift-corelibs-libdispatch has no `DispatchSerialQueue` executor, so this wraps a plain serial queue.
final class ConnectionExecutor: SerialExecutor {
    let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets `assumeIsolated` work inside dispatch-source handlers and hiredis callbacks, which run on `queue`.
    func checkIsolated() {
        dispatchPrecondition(condition: .onQueue(queue))
    }
}
