import Foundation
import Logging
import Metrics
import RedisBridge
import Tracing

/// Makes streams of text resumable and followable across processes, through Redis pub/sub, with the wire
/// protocol of the TypeScript package `resumable-stream`.
///
/// Create one context per process and share it: every stream uses the context's two connections (a
/// publisher for commands and a subscriber for pub/sub), never a connection per stream. The context owns the
/// producers it starts: they run to the end of their source even when the request that started them is
/// gone, and ``shutdown(gracePeriod:)`` lets them finish.
///
/// ```swift
/// let context = try ResumableStreamContext(redis: .fromEnvironment())
/// switch try await context.resumableStream("chat-42", skipCharacters: resumeAt, makeStream: makeTokenStream) {
/// case .created(let stream), .resumed(let stream), .finished(let stream): for try await chunk in stream { send(chunk) }
/// case .alreadyDone: respond(422)
/// case .notFound: respond(404)
/// case .producerUnreachable: respond(503)
/// }
/// ```
public final class ResumableStreamContext: Sendable {
    /// The tunables.
    public let configuration: ResumableStreamConfiguration
    /// The command connection.
    let publisher: any ResumableStreamPublisher
    /// The command connection, for companion targets that keep a little state of their own beside the
    /// context's streams (`ResumableStreamAISDK` keeps each chat's active stream id) through the same
    /// ``ResumableStreamPublisher``, so that every backend works. Not part of the public API
    /// (`@_spi(Extensions) import ResumableStream`).
    @_spi(Extensions) public var commandPublisher: any ResumableStreamPublisher { publisher }
    /// The pub/sub connection.
    let subscriber: any ResumableStreamSubscriber
    private let logger: Logger
    private let ownedConnections: (commands: RedisCommandConnection, subscriber: RedisSubscriberConnection)?
    private let registry = Locked(ProducerRegistry())
    private let metrics: StreamMetrics
    /// Extends every running producer's sentinel each third of the running TTL.
    private let refresher: PeriodicSweep<Producer>
    /// Checks every follower each watchdog interval.
    private let watchdog: PeriodicSweep<Relay>
    /// What the consumers of every stream share.
    private let consumers: Consumer.Environment
    /// A span for each call that makes or follows a stream.
    private let tracing: StreamTracing
    /// Every task of the context's own (producers, log writers, relays' recoveries, sweeps), counted, so that
    /// the shutdown waits for all of them.
    let work = BackgroundWork()
    /// The time the context's waits and checks run on (a test's clock in tests that move time themselves).
    let clock: StreamClock

    /// A context over your own publisher and subscriber (the TypeScript "generic" entry point), such as an
    /// ``InMemoryBackend`` or Redis connections you manage. The context does not close them.
    ///
    /// `tracer` gets a span for each call that makes or follows a stream; `nil` uses the tracer bootstrapped
    /// with `InstrumentationSystem` (none by default).
    public convenience init(
        configuration: ResumableStreamConfiguration = ResumableStreamConfiguration(),
        publisher: any ResumableStreamPublisher,
        subscriber: any ResumableStreamSubscriber,
        logger: Logger = Logger(label: "resumable-stream"),
        tracer: (any Tracer)? = nil
    ) {
        self.init(
            configuration: configuration, publisher: publisher, subscriber: subscriber, logger: logger,
            ownedConnections: nil, metricsFactory: MetricsSystem.factory, tracer: tracer)
    }

    /// A context with its own two Redis connections to `redis` (for example
    /// `RedisConfiguration.fromEnvironment()`, which reads `REDIS_URL`, then `KV_URL`). ``shutdown(gracePeriod:)``
    /// closes them.
    ///
    /// `tracer` gets a span for each call that makes or follows a stream; `nil` uses the tracer bootstrapped
    /// with `InstrumentationSystem` (none by default).
    public convenience init(
        redis: RedisConfiguration,
        configuration: ResumableStreamConfiguration = ResumableStreamConfiguration(),
        logger: Logger = Logger(label: "resumable-stream"),
        tracer: (any Tracer)? = nil
    ) {
        self.init(redis: redis, configuration: configuration, logger: logger, metricsFactory: MetricsSystem.factory, tracer: tracer)
    }

    /// The Redis context reporting to `metricsFactory` rather than the bootstrapped system (tests read exact
    /// figures from their own), its waits on `clock` (tests move a clock of their own).
    convenience init(
        redis: RedisConfiguration, configuration: ResumableStreamConfiguration, logger: Logger, metricsFactory: any MetricsFactory,
        tracer: (any Tracer)? = nil, clock: StreamClock = .continuous
    ) {
        let commands = RedisCommandConnection(configuration: redis, logger: logger)
        let subscriber = RedisSubscriberConnection(configuration: redis, logger: logger)
        var configuration = configuration
        // A stream's keys must share a slot for the fenced scripts.
        if case .cluster = redis.endpoint { configuration.wrapsStreamIDsInHashTags = true }
        self.init(
            configuration: configuration, publisher: commands, subscriber: subscriber, logger: logger,
            ownedConnections: (commands, subscriber), metricsFactory: metricsFactory, tracer: tracer, clock: clock)
    }

    /// Every initialiser ends here.
    init(
        configuration: ResumableStreamConfiguration,
        publisher: any ResumableStreamPublisher,
        subscriber: any ResumableStreamSubscriber,
        logger: Logger,
        ownedConnections: (commands: RedisCommandConnection, subscriber: RedisSubscriberConnection)?,
        metricsFactory: any MetricsFactory,
        tracer: (any Tracer)?,
        clock: StreamClock = .continuous
    ) {
        self.configuration = configuration
        self.clock = clock
        tracing = StreamTracing(tracer: tracer)
        self.publisher = publisher
        self.subscriber = subscriber
        self.logger = logger
        self.ownedConnections = ownedConnections
        metrics = StreamMetrics(factory: metricsFactory)
        refresher = PeriodicSweep(period: configuration.runningTTL / 3, clock: clock, work: work) { producers in
            for producer in producers { await producer.refreshExpiry() }
        }
        watchdog = PeriodicSweep(period: configuration.watchdogInterval, clock: clock, work: work) { relays in
            await FollowerWatchdog.checkSilentFollowers(relays)
        }
        consumers = Consumer.Environment(
            configuration: configuration, publisher: publisher, subscriber: subscriber, metrics: metrics, watchdog: watchdog, work: work, clock: clock
        )
    }

    // MARK: the TypeScript API

    /// Creates the stream if it does not exist and produces it from `makeStream`, or follows the producer
    /// that already runs it (the idempotent API).
    ///
    /// `makeStream` is only called when this call becomes the producer, and `skipCharacters` only applies
    /// when it follows (counted in UTF-16 code units, as JavaScript does; negative counts from the end).
    public func resumableStream<Source: AsyncSequence & SendableMetatype>(
        _ streamID: String,
        skipCharacters: Int? = nil,
        makeStream: @escaping @Sendable () async throws -> Source
    ) async throws -> ResumableStreamResult where Source.Element == String {
        let keys = try streamKeys(streamID)
        return try await tracing.span("resumableStream", kind: .internal, keys: keys, skipCharacters: skipCharacters, outcome: \.outcome) {
            try await produceOrFollow(keys, skipCharacters: skipCharacters, makeStream: makeStream)
        }
    }

    private func produceOrFollow<Source: AsyncSequence & SendableMetatype>(
        _ keys: StreamKeys,
        skipCharacters: Int?,
        makeStream: @escaping @Sendable () async throws -> Source
    ) async throws -> ResumableStreamResult where Source.Element == String {
        let (requests, claim) = try await listenAndClaim(keys, .ifAbsent)
        switch claim {
        case .claimed(let generation, let announced):
            return .created(startProducer(keys, generation: generation, announced: announced, requests: requests, makeStream))
        case .done:
            // Only a producer listens for requests (UNSUBSCRIBE).
            requests.close()
            return try await consumer(keys).finishedStream(from: skipCharacters)
        case .running:
            requests.close()
            return try await consumer(keys).follow(skipCharacters: skipCharacters)
        }
    }

    /// Starts a new stream with this id, replacing a finished one (the TypeScript `createNewResumableStream`).
    ///
    /// It also replaces a stream that still runs, in this process or another: from this call on, consumers
    /// follow the new stream, never a mix of both. The old producer goes on for its own reader and the
    /// followers it already had, and cannot mark the id finished while the new one runs.
    public func createNewResumableStream<Source: AsyncSequence & SendableMetatype>(
        _ streamID: String,
        makeStream: @escaping @Sendable () async throws -> Source
    ) async throws -> ResumableTextStream where Source.Element == String {
        let keys = try streamKeys(streamID)
        return try await tracing.span("createNewResumableStream", kind: .producer, keys: keys, outcome: { _ in "created" }) {
            try await replace(keys, makeStream: makeStream)
        }
    }

    private func replace<Source: AsyncSequence & SendableMetatype>(
        _ keys: StreamKeys,
        makeStream: @escaping @Sendable () async throws -> Source
    ) async throws -> ResumableTextStream where Source.Element == String {
        // After SUBSCRIBE, so a consumer that sees the sentinel finds the producer listening (TS PR #41). The
        // claim announces the generation on the request channel in the same step that sets the sentinel: a
        // producer of this id that runs already stops answering at the announcement (in channel order), and a
        // consumer that sees the new sentinel asks after it, so exactly one producer answers it.
        let (requests, claim) = try await listenAndClaim(keys, .replacing)
        guard case .claimed(let generation, let announced) = claim else {
            requests.close()
            throw RedisError.unexpectedReply("a replacing claim that claimed nothing")
        }
        return startProducer(keys, generation: generation, announced: announced, requests: requests, makeStream)
    }

    /// Listens for resume requests, then claims the id with `mode`: listening first, so that no consumer can ask
    /// before anyone listens. The inbox is closed if the claim throws; otherwise the caller closes it or hands it
    /// to the producer.
    private func listenAndClaim(_ keys: StreamKeys, _ mode: StreamClaim.Mode) async throws -> (RequestInbox, StreamSentinel.Claimed) {
        let requests = try await RequestInbox.subscribe(to: keys.requests, on: subscriber, work: work)
        do {
            return (requests, try await sentinel(keys).claim(mode))
        } catch {
            requests.close()
            throw error
        }
    }

    /// Follows an existing stream (the TypeScript `resumeExistingStream`): ``ResumableStreamResult/notFound``
    /// if there is none, ``ResumableStreamResult/alreadyDone`` if it finished.
    public func resumeExistingStream(_ streamID: String, skipCharacters: Int? = nil) async throws -> ResumableStreamResult {
        let keys = try streamKeys(streamID)
        return try await tracing.span("resumeExistingStream", kind: .consumer, keys: keys, skipCharacters: skipCharacters, outcome: \.outcome) {
            try await consumer(keys).resume(skipCharacters: skipCharacters)
        }
    }

    /// Whether a stream exists and whether it finished (the TypeScript `hasExistingStream`).
    public func hasExistingStream(_ streamID: String) async throws -> ResumableStreamState {
        switch try await sentinel(try streamKeys(streamID)).state() {
        case .absent: .none
        case .done: .done
        case .running: .inProgress
        }
    }

    // MARK: beyond TypeScript

    /// Asks the stream's producer, in this process or any other, to stop: its source is cancelled, its readers
    /// end cleanly and the stream counts as done.
    ///
    /// The request is aimed at the life of the id that runs when it is asked: it never stops a stream started
    /// later under the same id (a regenerated answer), even one started a moment later. A producer that does
    /// not hear it now (its connection to Redis is coming back) finds it stored when it reconnects, within the
    /// stop request TTL.
    public func stop(_ streamID: String) async throws -> ResumableStreamStopResult {
        let keys = try streamKeys(streamID)
        // Stored first, then published: a producer that reconnects after the publish reads the stored request.
        let target: StreamGeneration?
        switch try await sentinel(keys).storeStopRequest(expiresIn: configuration.stopRequestTTL) {
        case .absent: return .notFound
        case .done: return .alreadyDone
        case .running(let generation): target = generation.flatMap { StreamGeneration(hex: $0) }
        }
        let receivers = try await publisher.publishMessage(RequestMessage.encodeStop(target: target), to: keys.requests)
        return receivers > 0 ? .stopping : .awaitingProducer
    }

    /// Checks that Redis answers on the context's command connection (one `PING`), or throws why not (for
    /// example `RedisError.connectionFailed("… Connection refused")` within the connect timeout): call it at
    /// start-up, so that a server whose Redis is unreachable says so at once instead of at its first request.
    public func ping() async throws {
        try await publisher.ping()
    }

    /// Whether `error`, thrown by a call of a context, means "cannot serve now, try again shortly": Redis is
    /// unreachable, refusing or too slow (a `RedisError`), or the context is shutting down. An HTTP server
    /// answers these with `503 Service Unavailable` and `Retry-After`, and everything else as its own error.
    public static func isUnavailable(_ error: any Error) -> Bool {
        error is RedisError || error as? ResumableStreamError == .shuttingDown
    }

    /// The number of producers this context runs now.
    public var activeProducerCount: Int {
        registry.withLock { $0.producers.count }
    }

    /// Waits until every producer of this context finished, or `timeout` passed; returns whether all
    /// finished.
    public func drain(timeout: Duration) async -> Bool {
        await withDeadline(timeout, on: clock) {
            await self.waitUntilNoProducers()
            return !Task.isCancelled
        } ?? false
    }

    /// Stops accepting new streams, lets running producers finish for up to `gracePeriod`, stops the ones
    /// still running (their streams end as stopped), lets finished ones send their followers what those
    /// followers' windows still held back (within the same grace period), stops them, ends the followers of
    /// streams other instances produce (their readers get ``ResumableStreamError/interrupted``), closes the Redis
    /// connections the context opened, and returns once every task of the context has ended: its producers,
    /// their durable-log writers, its relays' recoveries and its sweeps.
    public func shutdown(gracePeriod: Duration) async {
        let deadline = clock.now() + gracePeriod
        registry.withLock { $0.beginShutdown() }
        if !(await drain(timeout: gracePeriod)) {
            let remaining = registry.withLock { Array($0.producers.values) }
            logger.debug("stopping producers still running after the grace period", metadata: ["count": "\(remaining.count)"])
            for producer in remaining { producer.stop() }
            for producer in remaining { await producer.waitUntilFinished() }
        }
        let lingering = registry.withLock { Array($0.lingering.values) }
        _ = await withDeadline(deadline - clock.now(), on: clock) {
            for producer in lingering { await producer.waitUntilFollowersServed() }
        }
        for producer in lingering { producer.stop() }
        for producer in lingering { await producer.waitUntilFinished() }
        refresher.cancel()
        // Followers of streams that other instances produce end here: their readers get `interrupted`.
        for relay in watchdog.cancel() { relay.cancel() }
        if let ownedConnections {
            await ownedConnections.commands.close()
            await ownedConnections.subscriber.close()
        }
        await work.finish()
    }

    // MARK: private

    /// Returns once no producer runs, or once the calling task is cancelled.
    private func waitUntilNoProducers() async {
        let id = registry.withLock { $0.makeWaiterID() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Registered under the lock that producers finish under; a cancellation that came first is
                // seen here, one that comes later finds the waiter.
                registry.withLock { $0.waitForDrain(continuation, id: id, isCancelled: Task.isCancelled) }?.resume()
            }
        } onCancel: {
            registry.withLock { $0.cancelDrainWaiter(id) }?.resume()
        }
    }

    private func streamKeys(_ streamID: String) throws -> StreamKeys {
        guard !streamID.isEmpty else { throw ResumableStreamError.emptyStreamID }
        guard !registry.withLock(\.isShuttingDown) else { throw ResumableStreamError.shuttingDown }
        let tagged = configuration.wrapsStreamIDsInHashTags && !HashSlot.hasHashTag(streamID)
        return StreamKeys(keyPrefix: configuration.keyPrefix, streamID: streamID, keyName: tagged ? "{\(streamID)}" : nil)
    }

    private func sentinel(_ keys: StreamKeys) -> StreamSentinel {
        StreamSentinel(keys: keys, publisher: publisher, configuration: configuration)
    }

    private func consumer(_ keys: StreamKeys) -> Consumer {
        Consumer(keys: keys, environment: consumers)
    }

    /// Starts the producer of `generation`, which claimed the id (and `announced` it).
    private func startProducer<Source: AsyncSequence & SendableMetatype>(
        _ keys: StreamKeys,
        generation: StreamGeneration,
        announced: Bool,
        requests: RequestInbox,
        _ makeStream: @escaping @Sendable () async throws -> Source
    ) -> ResumableTextStream where Source.Element == String {
        let chunks = TextQueue()
        let producer = Producer(
            keys: keys, generation: generation, announced: announced, configuration: configuration, publisher: publisher, work: work,
            clock: clock, logger: logger, metrics: metrics,
            output: chunks)
        metrics.created.increment()
        let (running, sameID) = registry.withLock { $0.insert(producer) }
        metrics.activeProducers.record(running)
        // Older lives of the id in this process learn of the new one here, even when its claim announced
        // nothing (Redis had lost their keys) and Redis loses the new one's keys too before they look again.
        // (Two claims of the id at once may be registered in either order: each learns of the other, and only
        // the older one takes note.)
        for other in sameID {
            other.newerGenerationClaimed(generation, announced: announced)
            producer.newerGenerationClaimed(other.generation, announced: true)
        }
        refresher.insert(producer)
        producer.start(
            source: makeStream, requests: requests,
            onFinish: { [self] in
                refresher.remove(producer)
                let (remaining, drained) = registry.withLock { $0.finished(producer) }
                metrics.activeProducers.record(remaining)
                for waiter in drained { waiter.resume() }
            },
            onEnd: { [self] in
                registry.withLock { $0.ended(producer) }
            })
        logger.debug("producing stream", metadata: ["stream.id": "\(keys.id)"])
        return ResumableTextStream(chunks: chunks, startOffset: 0)
    }
}
