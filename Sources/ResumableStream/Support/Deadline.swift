/// Runs `operation` against a deadline on `clock`: its result if it returns within `timeout`, `nil` if the
/// deadline passes first. Whichever loses is cancelled, so `operation` must return promptly once cancelled.
func withDeadline<Value: Sendable>(
    _ timeout: Duration,
    on clock: StreamClock,
    _ operation: @escaping @Sendable () async -> Value
) async -> Value? {
    await withTaskGroup(of: Value?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await clock.sleep(timeout)
            return nil
        }
        defer { group.cancelAll() }
        return await group.next() ?? nil
    }
}
