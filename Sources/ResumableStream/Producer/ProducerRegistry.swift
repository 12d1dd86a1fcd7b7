/// The producers a context runs, whether it is shutting down, and the ``ResumableStreamContext/drain(timeout:)``
/// calls waiting for none to run. Its transitions return the waiters to resume; the context resumes them
/// outside its lock.
struct ProducerRegistry: Sendable {
    /// The running producers, by identity.
    private(set) var producers: [ObjectIdentifier: Producer] = [:]
    /// Producers that finished and still answer late requests for a while
    /// (``ResumableStreamConfiguration/lingerAfterFinish``); the shutdown stops them.
    private(set) var lingering: [ObjectIdentifier: Producer] = [:]
    /// Every producer in `producers` or `lingering`, by stream id.
    private var byStreamID: [String: [ObjectIdentifier: Producer]] = [:]
    /// Set once by ``beginShutdown()``: the context takes no new streams.
    private(set) var isShuttingDown = false
    /// Drain calls waiting for `producers` to become empty, by waiter id.
    private var drainWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiterID = 0

    /// Takes no new streams from now on.
    mutating func beginShutdown() {
        isShuttingDown = true
    }

    /// Registers a started producer; returns how many run now, and the other producers of its id that still
    /// run or linger here (older lives of the id).
    mutating func insert(_ producer: Producer) -> (running: Int, sameID: [Producer]) {
        producers[ObjectIdentifier(producer)] = producer
        let sameID = Array((byStreamID[producer.keys.id] ?? [:]).values)
        byStreamID[producer.keys.id, default: [:]][ObjectIdentifier(producer)] = producer
        return (producers.count, sameID)
    }

    /// A producer finished: it lingers; returns how many still run, and the drain waiters to resume if none does.
    mutating func finished(_ producer: Producer) -> (remaining: Int, drained: [CheckedContinuation<Void, Never>]) {
        producers[ObjectIdentifier(producer)] = nil
        lingering[ObjectIdentifier(producer)] = producer
        guard producers.isEmpty else { return (producers.count, []) }
        defer { drainWaiters = [:] }
        return (0, Array(drainWaiters.values))
    }

    /// A producer stopped listening for requests: forgets it.
    mutating func ended(_ producer: Producer) {
        lingering[ObjectIdentifier(producer)] = nil
        byStreamID[producer.keys.id]?[ObjectIdentifier(producer)] = nil
        if byStreamID[producer.keys.id]?.isEmpty == true { byStreamID[producer.keys.id] = nil }
    }

    /// A new id for a drain waiter, taken before it suspends so that its cancellation can find it.
    mutating func makeWaiterID() -> Int {
        defer { nextWaiterID += 1 }
        return nextWaiterID
    }

    /// Keeps `continuation` until no producer runs; returns it instead, to resume at once, if none runs now or
    /// the waiting task `isCancelled` already.
    mutating func waitForDrain(
        _ continuation: CheckedContinuation<Void, Never>, id: Int, isCancelled: Bool
    ) -> CheckedContinuation<Void, Never>? {
        guard !producers.isEmpty, !isCancelled else { return continuation }
        drainWaiters[id] = continuation
        return nil
    }

    /// Gives up waiting for the drain waiter `id` (its task was cancelled); returns it if it still waited.
    mutating func cancelDrainWaiter(_ id: Int) -> CheckedContinuation<Void, Never>? {
        drainWaiters.removeValue(forKey: id)
    }
}
