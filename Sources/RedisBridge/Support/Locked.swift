#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a `pthread_mutex_t`.
///
/// This stands in for `Synchronization.Mutex` on purpose: on Linux, `Mutex` hands a contended lock over inside
/// the kernel (`FUTEX_LOCK_PI`), so ThreadSanitizer never sees the unlock happen before the next lock and reports
/// every contended critical section as a race. `pthread_mutex_lock` is intercepted by the sanitizers, which keeps
/// `make test-tsan` meaningful. Package-wide: the bridge and the streams share it.
package final class Locked<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is only read or written between `pthread_mutex_lock` and `pthread_mutex_unlock` on
    // `mutex`, so no two threads touch it at once.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Guards `value`.
    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        defer { pthread_mutexattr_destroy(&attributes) }
        #if canImport(Glibc)
        // Critical sections here are a few hundred nanoseconds: a contended lock spins that long before it
        // sleeps in the kernel, instead of paying a futex wait and wake (microseconds) per hand-over.
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        #endif
        let status = pthread_mutex_init(mutex, &attributes)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
