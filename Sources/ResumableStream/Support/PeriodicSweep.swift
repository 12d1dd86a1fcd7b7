import RedisBridge

/// Calls `tick` with every member, once per `period`, from one task that exists only while there are members:
/// the first `insert` starts it (in the context's ``BackgroundWork``) and a tick that finds none ends it. The
/// context keeps its producers' sentinels alive and watches its followers this way, with one sleeping task each
/// instead of one per stream.
final class PeriodicSweep<Member: AnyObject & Sendable>: Sendable {
    private struct State {
        var members: [ObjectIdentifier: Member] = [:]
        var task: BackgroundTask<Void>?
        var isCancelled = false
    }

    private let period: Duration
    private let clock: StreamClock
    private let work: BackgroundWork
    private let tick: @Sendable ([Member]) async -> Void
    private let state = Locked(State())

    init(period: Duration, clock: StreamClock, work: BackgroundWork, tick: @escaping @Sendable ([Member]) async -> Void) {
        self.period = period
        self.clock = clock
        self.work = work
        self.tick = tick
    }

    func insert(_ member: Member) {
        state.withLock { state in
            guard !state.isCancelled else { return }
            state.members[ObjectIdentifier(member)] = member
            if state.task == nil { state.task = work.start { await self.run() } }
        }
    }

    func remove(_ member: Member) {
        state.withLock { _ = $0.members.removeValue(forKey: ObjectIdentifier(member)) }
    }

    /// Ends the task and takes no more members; returns the members it had.
    @discardableResult
    func cancel() -> [Member] {
        let (task, members) = state.withLock { state in
            state.isCancelled = true
            defer { (state.task, state.members) = (nil, [:]) }
            return (state.task, Array(state.members.values))
        }
        task?.cancel()
        return members
    }

    private func run() async {
        while (try? await clock.sleep(period)) != nil {
            let members = state.withLock { state in
                if state.members.isEmpty { state.task = nil }
                return Array(state.members.values)
            }
            if members.isEmpty { return }
            await tick(members)
        }
    }
}
