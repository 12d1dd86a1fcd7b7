import Foundation
import RedisBridge

/// A publisher and subscriber in one, inside the process, without Redis: for single-instance applications
/// and fast tests. Keys expire like Redis keys; messages go to the subscribers of a channel at once, in order.
///
/// ```swift
/// let backend = InMemoryBackend()
/// let context = ResumableStreamContext(publisher: backend, subscriber: backend)
/// ```
public final class InMemoryBackend: ResumableStreamPublisher, ResumableStreamSubscriber {
    private struct Entry {
        var value: String
        var expiry: ContinuousClock.Instant?
    }

    /// A durable log: its entries in id order, and its expiry.
    private struct Log {
        var entries: [StreamLogEntry] = []
        var expiry: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var logs: [String: Log] = [:]
        var channels: [String: [Int: AsyncStream<ResumableStreamMessage>.Continuation]] = [:]
        var nextSubscriberID = 0

        mutating func live(_ key: String) -> Entry? {
            guard let entry = entries[key] else { return nil }
            if let expiry = entry.expiry, expiry <= .now {
                entries[key] = nil
                return nil
            }
            return entry
        }

        /// Yields `message` to every subscriber of `channel`; returns how many there are.
        func deliver(_ message: String, to channel: String) -> Int {
            guard let subscribers = channels[channel] else { return 0 }
            // A subscription that ended and is not removed yet (see `textSubscription(to:)`) receives nothing.
            return subscribers.values.reduce(0) { receivers, continuation in
                if case .terminated = continuation.yield(.message(message)) { return receivers }
                return receivers + 1
            }
        }

        /// The fenced steps: runs `step` unless `fence` holds a value other than `token`, and when `step`
        /// changed something, gives an existing `fence` the same expiry (as the Redis scripts do).
        mutating func fenced(
            by fence: String, token: String, expiry: ContinuousClock.Instant, _ step: (inout State) -> Bool
        ) -> Bool {
            let holder = live(fence)?.value
            if let holder, holder != token { return false }
            guard step(&self) else { return false }
            if holder != nil { entries[fence]?.expiry = expiry }
            return true
        }
    }

    private let state = Locked(State())

    /// An empty backend.
    public init() {}

    public func claim(_ claim: StreamClaim) async throws -> StreamClaimOutcome {
        let expiry = ContinuousClock.now + claim.expiresIn
        return state.withLock { state in
            let earlier = state.live(claim.generationKey)
            switch claim.mode {
            case .ifAbsent:
                if let existing = state.live(claim.sentinel) {
                    guard let count = Int(existing.value) else { return .done }
                    state.entries[claim.sentinel]?.value = String(count + 1)
                    return .running
                }
            case .replacing:
                break
            case .reclaiming:
                if earlier?.value == claim.generation { return .claimed(generation: claim.generation, announced: false) }
                guard let earlier else {
                    guard state.live(claim.sentinel) == nil else { return .running }
                    state.entries[claim.sentinel] = Entry(value: "1", expiry: expiry)
                    state.entries[claim.generationKey] = Entry(value: claim.generation, expiry: expiry)
                    return .claimed(generation: claim.generation, announced: false)
                }
                let held = StreamGeneration(hex: earlier.value)
                guard let own = StreamGeneration(hex: claim.generation), held.map({ $0 < own }) ?? true else { return .running }
            }
            let generation =
                claim.mode == .reclaiming
                ? claim.generation
                : StreamGeneration.minted(
                    from: StreamGeneration(hex: claim.generation) ?? .fresh(), at: Date(), after: earlier.flatMap { StreamGeneration(hex: $0.value) }
                ).hex
            state.entries[claim.sentinel] = Entry(value: "1", expiry: expiry)
            state.entries[claim.generationKey] = Entry(value: generation, expiry: expiry)
            for key in claim.staleKeys {
                state.entries[key] = nil
                state.logs[key] = nil
            }
            guard earlier != nil else { return .claimed(generation: generation, announced: false) }
            _ = state.deliver(claim.announcement(of: generation), to: claim.requests)
            return .claimed(generation: generation, announced: true)
        }
    }

    public func storeStopRequest(sentinel: String, generationKey: String, flag: String, expiresIn: Duration) async throws -> StreamStopTarget {
        state.withLock { state in
            switch state.live(sentinel)?.value {
            case nil: return .absent
            case WireProtocol.doneValue?: return .done
            default:
                guard let generation = state.live(generationKey)?.value else { return .running(generation: nil) }
                state.entries[flag] = Entry(value: generation, expiry: .now + expiresIn)
                return .running(generation: generation)
            }
        }
    }

    public func value(of key: String) async throws -> String? {
        state.withLock { $0.live(key)?.value }
    }

    public func values(of keys: [String]) async throws -> [String?] {
        state.withLock { state in keys.map { state.live($0)?.value } }
    }

    public func setValue(_ value: String, for key: String, expiresIn: Duration?) async throws {
        state.withLock { $0.entries[key] = Entry(value: value, expiry: expiresIn.map { .now + $0 }) }
    }

    public func setValues(_ values: [(key: String, value: String, expiresIn: Duration)], fencedBy fence: String, token: String) async throws -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.fenced(by: fence, token: token, expiry: now + (values.first?.expiresIn ?? .zero)) { state in
                for entry in values { state.entries[entry.key] = Entry(value: entry.value, expiry: now + entry.expiresIn) }
                return true
            }
        }
    }

    public func extendExpiry(of key: String, to duration: Duration, unlessItHolds finalValue: String, fencedBy fence: String, token: String)
        async throws -> Bool
    {
        let expiry = ContinuousClock.now + duration
        return state.withLock { state in
            state.fenced(by: fence, token: token, expiry: expiry) { state in
                guard let entry = state.live(key), entry.value != finalValue else { return false }
                state.entries[key]?.expiry = expiry
                return true
            }
        }
    }

    public func setExpiry(of key: String, to duration: Duration) async throws {
        state.withLock { state in
            if state.live(key) != nil { state.entries[key]?.expiry = .now + duration }
        }
    }

    public func delete(_ key: String) async throws {
        state.withLock { _ = $0.entries.removeValue(forKey: key) }
    }

    public func publishMessage(_ message: String, to channel: String) async throws -> Int {
        deliver(message, to: channel)
    }

    public func enqueuePublish(_ message: String, to channel: String, onReceivers: (@Sendable (Result<Int, any Error>) -> Void)?) {
        let receivers = deliver(message, to: channel)
        onReceivers?(.success(receivers))
    }

    public func appendToLog(_ entry: StreamLogEntry, at key: String, expiresIn: Duration, fencedBy fence: String, generation: String)
        async throws -> Bool
    {
        let expiry = ContinuousClock.now + expiresIn
        return try state.withLock { state in
            guard let holder = state.live(fence)?.value else { throw StreamLogUnclaimedError() }
            if holder != generation { return false }
            var log = state.logs[key].flatMap { $0.expiry > .now ? $0 : nil } ?? Log(expiry: expiry)
            if log.entries.last.map({ Self.order($0) < Self.order(entry) }) ?? true { log.entries.append(entry) }
            log.expiry = expiry
            state.logs[key] = log
            return true
        }
    }

    public func logEntries(at key: String, after offset: Int, limit: Int?) async throws -> [StreamLogEntry] {
        state.withLock { state in
            guard let log = state.logs[key], log.expiry > .now else { return [] }
            let entries = log.entries.filter { Self.order($0) >= (offset, 1) }
            return limit.map { Array(entries.prefix($0)) } ?? entries
        }
    }

    /// A log entry's place, as its Redis stream id orders it: where its text ends, the end mark just after.
    private static func order(_ entry: StreamLogEntry) -> (Int, Int) {
        entry.isEnd ? (entry.offset, 1) : (entry.offset + entry.text.utf16.count, 0)
    }

    public func subscriberCount(of channel: String) async throws -> Int {
        state.withLock { $0.channels[channel]?.count ?? 0 }
    }

    public func textSubscription(to channel: String) async throws -> any AsyncSequence<ResumableStreamMessage, Never> & Sendable {
        let (messages, continuation) = AsyncStream<ResumableStreamMessage>.makeStream()
        let id = state.withLock { state in
            let id = state.nextSubscriberID
            state.nextSubscriberID += 1
            state.channels[channel, default: [:]][id] = continuation
            return id
        }
        // Removed off the thread that ends the subscription: a cancellation calls this while it holds the
        // reading task's status lock, which a publish yielding under `state`'s lock waits for (a deadlock).
        continuation.onTermination = { [weak self] _ in
            DispatchQueue.global().async { [weak self] in
                self?.state.withLock { state in
                    state.channels[channel]?[id] = nil
                    if state.channels[channel]?.isEmpty == true { state.channels[channel] = nil }
                }
            }
        }
        return messages
    }

    /// Yields under the lock, so that messages reach every subscriber in publish order.
    private func deliver(_ message: String, to channel: String) -> Int {
        state.withLock { $0.deliver(message, to: channel) }
    }
}
