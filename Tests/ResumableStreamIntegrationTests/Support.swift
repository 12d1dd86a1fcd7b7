import Clocks
import Foundation
import Logging
import Metrics
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// The two backends every protocol test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case redis
    case inMemory

    var testDescription: String { rawValue }
}

/// A source that the test writes into: the counterpart of the TypeScript suite's testing stream.
final class Writer: Sendable {
    let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (stream, continuation) = AsyncStream<String>.makeStream()
    }

    func write(_ chunk: String) { continuation.yield(chunk) }
    func close() { continuation.finish() }

    /// The `makeStream` closure for the context.
    var source: @Sendable () async throws -> AsyncStream<String> {
        { [stream] in stream }
    }
}

/// Moves `clock` in steps of `step`, each once the context had a moment (20 ms) to act on the last one, until
/// `isDone` (or `limit` on the clock), then 10 s more, so that no wait on the clock is left and the test cannot
/// hang. Returns how far the clock had moved when `isDone` first held. On a slow machine the context may still be
/// busy while time moves on: what it does then happens later on the clock, never sooner.
@discardableResult
func advanceStepwise(
    _ clock: TestClock<Duration>, by step: Duration = .milliseconds(50), upTo limit: Duration = .seconds(5),
    until isDone: () async throws -> Bool
) async throws -> Duration {
    var moved = Duration.zero
    while moved < limit, try await !isDone() {
        try await Task.sleep(for: .milliseconds(20))
        await clock.advance(by: step)
        moved += step
    }
    await clock.advance(by: .seconds(10))
    return moved
}

/// A fresh key prefix for one test, as the TypeScript suite makes one per test.
func testPrefix() -> String { "test-resumable-stream-\(UUID().uuidString)" }

/// The ack timeout of tests whose handshakes must succeed: long enough for a machine the whole suite loads.
let handshakePatience = Duration.seconds(10)

/// Runs `body` with a new context on `backend`, shutting it down afterwards.
func withContext<Result>(
    _ backend: Backend,
    configure: (inout ResumableStreamConfiguration) -> Void = { _ in },
    metrics: (any MetricsFactory)? = nil,
    clock: StreamClock = .continuous,
    _ body: (ResumableStreamContext) async throws -> Result
) async throws -> Result {
    try await withContexts(backend, count: 1, configure: configure, metrics: metrics, clock: clock) { try await body($0[0]) }
}

/// Runs `body` with `count` contexts that share one backend and key prefix, as several instances of a
/// service share one Redis.
func withContexts<Result>(
    _ backend: Backend,
    count: Int,
    configure: (inout ResumableStreamConfiguration) -> Void = { _ in },
    metrics: (any MetricsFactory)? = nil,
    clock: StreamClock = .continuous,
    _ body: ([ResumableStreamContext]) async throws -> Result
) async throws -> Result {
    // A generous ack timeout unless a test sets its own: handshakes must not time out while the whole suite
    // loads the machine's two cores.
    var configuration = ResumableStreamConfiguration(keyPrefix: testPrefix(), ackTimeout: handshakePatience)
    configure(&configuration)
    let memory = InMemoryBackend()
    let contexts = try (0..<count).map { _ in try makeContext(backend, configuration, sharing: memory, metrics: metrics, clock: clock) }
    do {
        let result = try await body(contexts)
        for context in contexts { await context.shutdown(gracePeriod: .seconds(5)) }
        return result
    } catch {
        for context in contexts { await context.shutdown(gracePeriod: .seconds(5)) }
        throw error
    }
}

/// A context on `backend`; in-process contexts made with the same `memory` share it, as instances share a Redis.
/// `metrics` (a `TestMetrics`, say) gets the context's metrics instead of the process's `MetricsSystem`; its waits
/// run on `clock`.
func makeContext(
    _ backend: Backend, _ configuration: ResumableStreamConfiguration, sharing memory: InMemoryBackend = InMemoryBackend(),
    metrics: (any MetricsFactory)? = nil, clock: StreamClock = .continuous
) throws -> ResumableStreamContext {
    let logger = Logger(label: "resumable-stream")
    let factory = metrics ?? MetricsSystem.factory
    switch backend {
    case .redis:
        return ResumableStreamContext(
            redis: try sharedConfiguration(), configuration: configuration, logger: logger, metricsFactory: factory, clock: clock)
    case .inMemory:
        return ResumableStreamContext(
            configuration: configuration, publisher: memory, subscriber: memory, logger: logger,
            ownedConnections: nil, metricsFactory: factory, tracer: nil, clock: clock)
    }
}

extension ResumableStreamResult {
    /// The stream of a `.created` result, or a recorded issue.
    func created(sourceLocation: SourceLocation = #_sourceLocation) throws -> ResumableTextStream {
        guard case .created(let stream) = self else {
            Issue.record("expected .created, got \(self)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return stream
    }

    /// The stream of a `.finished` result, or a recorded issue.
    func finished(sourceLocation: SourceLocation = #_sourceLocation) throws -> ResumableTextStream {
        guard case .finished(let stream) = self else {
            Issue.record("expected .finished, got \(self)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return stream
    }

    /// Whether it is `.alreadyDone`.
    var isAlreadyDone: Bool {
        if case .alreadyDone = self { true } else { false }
    }

    /// The stream of a `.resumed` result, or a recorded issue.
    func resumed(sourceLocation: SourceLocation = #_sourceLocation) throws -> ResumableTextStream {
        guard case .resumed(let stream) = self else {
            Issue.record("expected .resumed, got \(self)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return stream
    }
}

/// The in-process backend behind a publisher that counts what it publishes to each channel, and that can act
/// just before an awaited `publish` goes out (`beforePublish` gets the backend, the message and the channel),
/// fail an enqueued publish as a dropped connection would (when `failsEnqueued` says so for the message and the
/// channel, it reaches nobody and reports `nil`), and change what a subscription receives (`rewriteIncoming`
/// gets the channel, the subscription's number on that channel from 0, and the message), for example to turn a
/// message into a gap as a reconnect would, and act just before a read of keys (`beforeRead` gets the backend
/// and the keys of one `value(of:)` or `values(of:)`).
final class InstrumentedBackend: ResumableStreamPublisher, ResumableStreamSubscriber {
    typealias Rewrite = @Sendable (_ channel: String, _ subscription: Int, _ message: ResumableStreamMessage) -> ResumableStreamMessage
    let base = InMemoryBackend()
    private let counts = Locked<[String: Int]>([:])
    private let subscriptions = Locked<[String: Int]>([:])
    private let beforePublish: (@Sendable (InMemoryBackend, String, String) async throws -> Void)?
    private let rewriteIncoming: Rewrite?
    private let failsEnqueued: (@Sendable (_ message: String, _ channel: String) -> Bool)?
    private let beforeRead: (@Sendable (InMemoryBackend, [String]) async throws -> Void)?
    /// The takes of `enqueuePublishes(taking:)` since `holdTakes()`, as a busy connection holds them; `nil`:
    /// taken at once.
    private let heldTakes = Locked<[@Sendable () -> [ResumableStreamPublication]]?>(nil)

    init(
        beforePublish: (@Sendable (_ base: InMemoryBackend, _ message: String, _ channel: String) async throws -> Void)? = nil,
        beforeRead: (@Sendable (_ base: InMemoryBackend, _ keys: [String]) async throws -> Void)? = nil,
        failsEnqueued: (@Sendable (_ message: String, _ channel: String) -> Bool)? = nil,
        rewriteIncoming: Rewrite? = nil
    ) {
        self.beforePublish = beforePublish
        self.beforeRead = beforeRead
        self.failsEnqueued = failsEnqueued
        self.rewriteIncoming = rewriteIncoming
    }

    func publishes(to channel: String) -> Int { counts.withLock { $0[channel, default: 0] } }
    var allPublishes: [String: Int] { counts.withLock { $0 } }

    func claim(_ claim: StreamClaim) async throws -> StreamClaimOutcome {
        // The claim publishes its announcement when an earlier generation's key is there.
        if try await base.value(of: claim.generationKey) != nil {
            try await beforePublish?(base, claim.announcement(of: claim.generation), claim.requests)
        }
        return try await base.claim(claim)
    }
    func storeStopRequest(sentinel: String, generationKey: String, flag: String, expiresIn: Duration) async throws -> StreamStopTarget {
        try await base.storeStopRequest(sentinel: sentinel, generationKey: generationKey, flag: flag, expiresIn: expiresIn)
    }
    func value(of key: String) async throws -> String? {
        try await beforeRead?(base, [key])
        return try await base.value(of: key)
    }
    func values(of keys: [String]) async throws -> [String?] {
        try await beforeRead?(base, keys)
        return try await base.values(of: keys)
    }
    func setValue(_ value: String, for key: String, expiresIn: Duration?) async throws {
        try await base.setValue(value, for: key, expiresIn: expiresIn)
    }
    func setValues(_ values: [(key: String, value: String, expiresIn: Duration)], fencedBy fence: String, token: String) async throws -> Bool {
        try await base.setValues(values, fencedBy: fence, token: token)
    }
    func extendExpiry(of key: String, to duration: Duration, unlessItHolds finalValue: String, fencedBy fence: String, token: String) async throws
        -> Bool
    {
        try await base.extendExpiry(of: key, to: duration, unlessItHolds: finalValue, fencedBy: fence, token: token)
    }
    func setExpiry(of key: String, to duration: Duration) async throws { try await base.setExpiry(of: key, to: duration) }
    func delete(_ key: String) async throws { try await base.delete(key) }
    func publishMessage(_ message: String, to channel: String) async throws -> Int {
        try await beforePublish?(base, message, channel)
        counts.withLock { $0[channel, default: 0] += 1 }
        return try await base.publishMessage(message, to: channel)
    }
    func enqueuePublish(_ message: String, to channel: String, onReceivers: (@Sendable (Result<Int, any Error>) -> Void)?) {
        counts.withLock { $0[channel, default: 0] += 1 }
        if failsEnqueued?(message, channel) == true { return onReceivers?(.failure(RedisError.connectionLost("injected"))) ?? () }
        base.enqueuePublish(message, to: channel, onReceivers: onReceivers)
    }
    func enqueuePublishes(taking take: @escaping @Sendable () -> [ResumableStreamPublication]) {
        let isHeld = heldTakes.withLock { held in
            held?.append(take)
            return held != nil
        }
        if !isHeld { enqueuePublishes(take()) }
    }
    /// From now on, what producers publish to listeners in bursts waits until `releaseTakes()`, as it would
    /// behind a connection busy with other streams' publishes.
    func holdTakes() { heldTakes.withLock { $0 = $0 ?? [] } }
    /// Takes and publishes what waited, in order; later publishes go out at once again. Call it while no
    /// producer publishes.
    func releaseTakes() {
        let takes = heldTakes.withLock { held in
            defer { held = nil }
            return held ?? []
        }
        for take in takes { enqueuePublishes(take()) }
    }
    func subscriberCount(of channel: String) async throws -> Int { try await base.subscriberCount(of: channel) }
    func appendToLog(_ entry: StreamLogEntry, at key: String, expiresIn: Duration, fencedBy fence: String, generation: String) async throws -> Bool {
        try await base.appendToLog(entry, at: key, expiresIn: expiresIn, fencedBy: fence, generation: generation)
    }
    func logEntries(at key: String, after offset: Int, limit: Int?) async throws -> [StreamLogEntry] {
        try await base.logEntries(at: key, after: offset, limit: limit)
    }
    func textSubscription(to channel: String) async throws -> any AsyncSequence<ResumableStreamMessage, Never> & Sendable {
        let messages = try await base.textSubscription(to: channel)
        guard let rewriteIncoming else { return messages }
        let number = subscriptions.withLock { counts in
            defer { counts[channel, default: 0] += 1 }
            return counts[channel, default: 0]
        }
        let (rewritten, continuation) = AsyncStream<ResumableStreamMessage>.makeStream()
        let relay = Task {
            for await message in messages { continuation.yield(rewriteIncoming(channel, number, message)) }
            continuation.finish()
        }
        continuation.onTermination = { _ in relay.cancel() }
        return rewritten
    }
}

/// Reads a stream to its end or its error, counting the bytes taken under `name` in `progress`.
func readAll(
    _ stream: ResumableTextStream, as name: String = "", progress: Locked<[String: Int]>? = nil
) async -> (text: String, error: (any Error)?) {
    var text = ""
    do {
        for try await chunk in stream {
            text += chunk
            progress?.withLock { $0[name, default: 0] += chunk.utf8.count }
        }
        return (text, nil)
    } catch {
        return (text, error)
    }
}

/// Streams that each have a follower, for the tests that hurt Redis mid-stream: ``write(_:)`` feeds every
/// stream, ``closeAndCheck(within:)`` ends them and checks what a fault must never break: each producer's own
/// reader gets every byte, and each follower every byte or a ``ResumableStreamError`` after an exact prefix
/// (never silence, never a duplicate, never a hang).
struct StreamsWithFollowers {
    private let writers: [Writer]
    private var producers: [ResumableTextStream] = []
    private var followers: [ResumableTextStream] = []
    private var text = ""

    /// Starts the streams `ids` on `context`, each with a follower attached.
    init(_ ids: [String], on context: ResumableStreamContext) async throws {
        writers = ids.map { _ in Writer() }
        for (id, writer) in zip(ids, writers) {
            producers.append(try await context.resumableStream(id, makeStream: writer.source).created())
            followers.append(try await context.resumeExistingStream(id).resumed())
        }
    }

    /// Writes `chunk` to every stream.
    mutating func write(_ chunk: String) {
        text += chunk
        for writer in writers { writer.write(chunk) }
    }

    /// Ends every stream and checks every reader, each within `limit`.
    func closeAndCheck(within limit: Duration = .seconds(15), sourceLocation: SourceLocation = #_sourceLocation) async {
        for writer in writers { writer.close() }
        for producer in producers {
            let (own, error) = await withDeadline(limit, on: .continuous) { await readAll(producer) } ?? ("", CancellationError())
            #expect(own == text && error == nil, "a producer's reader lost bytes: \(String(describing: error))", sourceLocation: sourceLocation)
        }
        for follower in followers {
            let (received, error) = await withDeadline(limit, on: .continuous) { await readAll(follower) } ?? ("", CancellationError())
            if let error {
                #expect(error is ResumableStreamError, "\(error)", sourceLocation: sourceLocation)
                #expect(text.hasPrefix(received), "a follower's text is not a prefix", sourceLocation: sourceLocation)
            } else {
                #expect(received == text, "a follower's text differs", sourceLocation: sourceLocation)
            }
        }
    }
}

/// How long after `start` a new stream `id` could be created on `context` (trying every 100 ms), or `nil` if
/// not within `limit`: the time a deployment takes to serve new streams again after a fault.
func timeUntilNewStreamsWork(on context: ResumableStreamContext, id: String, since start: ContinuousClock.Instant, within limit: Duration)
    async -> Duration?
{
    let writer = Writer()
    defer { writer.close() }
    while ContinuousClock.now - start < limit {
        if case .created = try? await context.resumableStream(id, makeStream: writer.source) { return ContinuousClock.now - start }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return nil
}

/// A deterministic generator (SplitMix64), so that a randomised test can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
