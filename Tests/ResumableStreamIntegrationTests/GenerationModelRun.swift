import Foundation
import RedisBridge
import RedisTestSupport

@testable import ResumableStream

/// One execution of a list of ``ModelOperation``s against a fresh redis-server, with two instances (contexts
/// with the same key prefix), each connected through a ``FaultProxy`` of its own so that it can crash. Every
/// stream the library hands out is read in the background into the ``ModelState``; at the end every source is
/// ended, every reader awaited within ``bound``, and the ``ModelChecks`` run.
final class GenerationModelRun {
    /// How long a reader may take to end after its generation ended or its instance crashed: generous, so that
    /// a loaded machine passes; the point is catching hangs, not timing.
    static let bound = Duration.seconds(15)
    /// How long a crashed instance's context lives on, cut off, before it is shut down: long enough for its
    /// followers to find out by themselves that Redis is gone.
    static let crashedContextLifetime = Duration.seconds(3)
    /// The most generations of one id whose sources are open at once.
    static let openSourcesPerID = 5

    struct Report: Sendable {
        let violations: [ModelViolation]
        let summary: String
    }

    private struct Instance {
        let context: ResumableStreamContext
        let proxy: FaultProxy
        let life: Int
    }

    private let profile: ModelProfile
    /// Instance 0's configuration; instance 1 retains no finished text, so that the finished streams it
    /// produced are served from their durable logs.
    private let configuration: ResumableStreamConfiguration
    private let state = Locked(ModelState())
    private let server: RedisServer
    private var instances: [Instance] = []
    private var retiredProxies: [FaultProxy] = []
    private var crashedContexts: [Task<Void, Never>] = []
    /// Ports every proxy of the run had: a new proxy never takes a crashed one's port, so that a crashed
    /// context cannot reach Redis again.
    private var usedPorts: Set<Int> = []
    private var sources: [Int: AsyncThrowingStream<String, any Error>.Continuation] = [:]
    private var readerTasks: [Task<Void, Never>] = []
    /// With ``ModelProfile/reusesIDs`` off: each slot's current id.
    private var slotIDs: [Int: Int] = [:]
    private var nextID = 0
    private var performed: [String: Int] = [:]

    private init(profile: ModelProfile, server: RedisServer) {
        self.profile = profile
        self.server = server
        configuration = ResumableStreamConfiguration(
            keyPrefix: "model-\(UUID().uuidString.prefix(8))", runningTTL: .seconds(2), ackTimeout: .seconds(1),
            ackRetryInterval: .milliseconds(50), watchdogInterval: .milliseconds(300), finishedStreamRetention: .seconds(60),
            durableLog: .init(retention: .seconds(60), batchCharacters: 64, linger: .milliseconds(10)),
            lingerAfterFinish: .milliseconds(500))
    }

    /// Runs `operations` and checks what every reader got.
    static func execute(_ operations: [ModelOperation], profile: ModelProfile) async throws -> Report {
        let server = try await RedisServer.start()
        let run = GenerationModelRun(profile: profile, server: server)
        do {
            run.instances = [try run.makeInstance(0, life: 0), try run.makeInstance(1, life: 0)]
        } catch {
            try? server.stop()
            throw error
        }
        for (index, operation) in operations.enumerated() {
            run.state.withLock { $0.operation = index }
            await run.perform(operation, index: index)
            try? await Task.sleep(for: .milliseconds(2))
        }
        return await run.finish()
    }

    private func makeInstance(_ index: Int, life: Int) throws -> Instance {
        var rejected: [FaultProxy] = []
        defer { for proxy in rejected { proxy.stop() } }
        var proxy = try FaultProxy(forwardingTo: server.port)
        while usedPorts.contains(proxy.port) {
            rejected.append(proxy)
            proxy = try FaultProxy(forwardingTo: server.port)
        }
        usedPorts.insert(proxy.port)
        var redis = try RedisConfiguration(url: proxy.url)
        redis.connectTimeout = .milliseconds(500)
        redis.commandTimeout = .seconds(2)
        redis.reconnectInitialDelay = .milliseconds(10)
        redis.reconnectMaximumDelay = .milliseconds(100)
        var configuration = configuration
        if index == 1 && !profile.retainsEverywhere { configuration.finishedStreamRetention = nil }
        return Instance(context: ResumableStreamContext(redis: redis, configuration: configuration), proxy: proxy, life: life)
    }

    // MARK: operations

    private func perform(_ operation: ModelOperation, index: Int) async {
        performed[String(operation.description.prefix { $0 != " " }), default: 0] += 1
        switch operation {
        case .resumable(let instance, let slot, let skip):
            await follow(index, instance: instance, slot: slot, skip: skip, idempotent: true)
        case .resume(let instance, let slot, let skip):
            await follow(index, instance: instance, slot: slot, skip: skip, idempotent: false)
        case .createNew(let instance, let slot):
            await createNew(index, instance: instance, slot: slot)
        case .append(let slot, let pick, let scalars, let pattern):
            guard let generation = openGeneration(slot, pick: pick) else { return }
            let chunk = ModelText.chunk(of: generation, scalars: scalars, pattern: pattern)
            state.withLock { $0.generations[generation].written += chunk.utf16 }
            sources[generation]?.yield(chunk)
        case .finish(let slot, let pick):
            guard let generation = openGeneration(slot, pick: pick) else { return }
            state.withLock { $0.endSource(of: generation, as: .finished) }
            sources.removeValue(forKey: generation)?.finish()
        case .fail(let slot, let pick):
            guard let generation = openGeneration(slot, pick: pick) else { return }
            state.withLock { $0.endSource(of: generation, as: .failed) }
            sources.removeValue(forKey: generation)?.finish(throwing: ModelSourceFailure(generation: generation))
        case .stop(let instance, let slot):
            await stop(index, instance: instance, slot: slot)
        case .crash(let instance):
            crash(instance)
        case .dropConnections(let instance):
            instances[instance].proxy.inject(.dropAll)
        case .expire:
            try? await Task.sleep(for: configuration.runningTTL + .milliseconds(500))
        case .restartRedis:
            state.withLock { $0.restarts.append(.now) }
            do {
                try await server.restart()
            } catch {
                count("restart threw \(error)")
            }
        case .pause(let milliseconds):
            try? await Task.sleep(for: .milliseconds(milliseconds))
        }
    }

    private func count(_ outcome: String) {
        state.withLock { $0.outcomes[outcome, default: 0] += 1 }
    }

    /// A short name of an error, for the records and messages.
    static func name(of error: any Error) -> String {
        guard let error = error as? ResumableStreamError else { return String("\(error)".prefix(60)) }
        return error.producerMessage.map { "\(error.code)(\($0))" } ?? error.code.description
    }

    /// The id of `slot`. Without reuse, a call that may start a new stream moves the slot to a fresh id first
    /// when its id already had a generation that could be replaced by it.
    private func streamID(_ slot: Int, startingNew: Bool = false, replacing: Bool = false) -> String {
        guard !profile.reusesIDs else { return "id\(slot)" }
        var current =
            slotIDs[slot]
            ?? { () -> Int in
                defer { nextID += 1 }
                return nextID
            }()
        let name = "id\(slot).\(current)"
        if startingNew, let newest = state.withLock({ $0.newest(of: name) }), replacing || newest.endedAt != nil {
            current = nextID
            nextID += 1
        }
        slotIDs[slot] = current
        return "id\(slot).\(current)"
    }

    /// The generation of `slot`'s id whose source is open, `pick` places from the newest.
    private func openGeneration(_ slot: Int, pick: Int) -> Int? {
        let id = streamID(slot)
        return state.withLock { state in
            let open = state.openByID[id] ?? []
            guard !open.isEmpty else { return nil }
            return open[open.count - 1 - pick % open.count]
        }
    }

    private func follow(_ index: Int, instance: Int, slot: Int, skip: ModelSkip, idempotent: Bool) async {
        let id = streamID(slot, startingNew: idempotent)
        let (named, written) = state.withLock { state in
            let newest = state.newest(of: id)
            return (newest?.number, newest?.written ?? [])
        }
        let skipCharacters = skip.resolve(against: written)
        let context = instances[instance].context
        let call = idempotent ? "resumableStream" : "resumeExistingStream"
        let (source, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        let result: ResumableStreamResult
        do {
            result =
                if idempotent {
                    try await context.resumableStream(id, skipCharacters: skipCharacters, makeStream: { source })
                } else {
                    try await context.resumeExistingStream(id, skipCharacters: skipCharacters)
                }
        } catch {
            continuation.finish()
            count("\(call) threw \(Self.name(of: error))")
            return
        }
        count("\(call) → \(result.outcome)")
        switch result {
        case .created(let stream):
            let generation = register(id: id, instance: instance, operation: index, source: continuation)
            startReader(
                ModelReaderStart(
                    operation: index, call: "\(call) → created", id: id, instance: instance, generation: generation, named: nil, skip: nil),
                stream)
        case .resumed(let stream), .finished(let stream):
            continuation.finish()
            startReader(
                ModelReaderStart(
                    operation: index, call: "\(call) → \(result.outcome)", id: id, instance: instance, generation: nil, named: named,
                    skip: skipCharacters),
                stream)
        case .alreadyDone, .notFound, .producerUnreachable:
            continuation.finish()
        }
    }

    private func createNew(_ index: Int, instance: Int, slot: Int) async {
        let id = streamID(slot, startingNew: true, replacing: true)
        let (source, continuation) = AsyncThrowingStream<String, any Error>.makeStream()
        do {
            let stream = try await instances[instance].context.createNewResumableStream(id, makeStream: { source })
            count("createNewResumableStream")
            let generation = register(id: id, instance: instance, operation: index, source: continuation)
            startReader(
                ModelReaderStart(operation: index, call: "createNew", id: id, instance: instance, generation: generation, named: nil, skip: nil),
                stream)
        } catch {
            continuation.finish()
            count("createNewResumableStream threw \(Self.name(of: error))")
        }
    }

    private func register(id: String, instance: Int, operation: Int, source: AsyncThrowingStream<String, any Error>.Continuation) -> Int {
        let life = instances[instance].life
        let number = state.withLock { state in
            let number = state.generations.count
            var generation = ModelGeneration(number: number, id: id, instance: instance, life: life, operation: operation)
            // Stops asked for before the id had any generation are aimed at this one.
            for stop in state.aheadOfTheStream.removeValue(forKey: id) ?? [] {
                state.stops[stop].target = number
                generation.stops.append(stop)
            }
            state.generations.append(generation)
            state.byID[id, default: []].append(number)
            state.openByID[id, default: []].append(number)
            return number
        }
        sources[number] = source
        // A long run must not pile up producers whose sources never end: past a few open ones per id, the
        // model ends the oldest.
        if let oldest = state.withLock({ $0.openByID[id].flatMap { $0.count > Self.openSourcesPerID ? $0.first : nil } }) {
            state.withLock { $0.endSource(of: oldest, as: .finished) }
            sources.removeValue(forKey: oldest)?.finish()
            count("the oldest open source of an id finished by the model")
        }
        return number
    }

    private struct ModelReaderStart {
        let operation: Int
        let call: String
        let id: String
        let instance: Int
        let generation: Int?
        let named: Int?
        let skip: Int?
    }

    /// Reads `stream` in the background into the state.
    private func startReader(_ start: ModelReaderStart, _ stream: ResumableTextStream) {
        let life = instances[start.instance].life
        let number = state.withLock { state in
            let number = state.readers.count
            state.readers.append(
                ModelReader(
                    number: number, operation: start.operation, call: start.call, id: start.id, instance: start.instance, life: life,
                    generation: start.generation, named: start.named, skip: start.skip, startOffset: stream.startOffset, startedAt: .now))
            if let generation = start.generation { state.generations[generation].ownReader = number }
            return number
        }
        readerTasks.append(Self.read(stream, as: number, into: state))
    }

    /// A task that reads `stream` into reader `number`'s record, and records how and when it ended.
    private static func read(_ stream: ResumableTextStream, as number: Int, into state: Locked<ModelState>) -> Task<Void, Never> {
        Task {
            var ending = ModelEnding.clean
            do {
                for try await chunk in stream {
                    state.withLock { $0.readers[number].received += chunk.utf16 }
                }
            } catch let failure as ModelSourceFailure {
                ending = .sourceFailed(generation: failure.generation)
            } catch {
                ending = .error(error as? ResumableStreamError, name(of: error))
            }
            state.withLock { state in
                let now = ContinuousClock.now
                state.readers[number].ending = ending
                state.readers[number].endedAt = now
                state.readers[number].endedDuring = state.operation
                if let generation = state.readers[number].generation {
                    state.readers[number].sourceEndedFirst = state.generations[generation].sourceEnd != nil
                    if state.generations[generation].endedAt == nil { state.generations[generation].endedAt = now }
                }
            }
        }
    }

    private func stop(_ index: Int, instance: Int, slot: Int) async {
        let id = streamID(slot)
        // Aimed at the newest generation of the id that the model has not seen end.
        let stop = state.withLock { state in
            let target = state.byID[id]?.last { state.generations[$0].endedAt == nil }
            let ahead = state.byID[id] == nil
            state.stops.append(ModelStop(operation: index, id: id, instance: instance, target: target, isAheadOfTheStream: ahead))
            if let target { state.generations[target].stops.append(state.stops.count - 1) }
            if ahead { state.aheadOfTheStream[id, default: []].append(state.stops.count - 1) }
            return state.stops.count - 1
        }
        let result: String
        do {
            result = "\(try await instances[instance].context.stop(id))"
        } catch {
            result = "threw \(Self.name(of: error))"
        }
        state.withLock { $0.stops[stop].result = result }
        count("stop → \(result)")
    }

    /// The instance's proxy stops: its connections are cut and nothing reaches Redis from it any more, as after
    /// SIGKILL. Its producers' sources end (the process is gone), its context is shut down once its followers
    /// had time to notice, and a fresh context with a fresh proxy takes its place.
    private func crash(_ index: Int) {
        let crashed = instances[index]
        crashed.proxy.stop()
        retiredProxies.append(crashed.proxy)
        let now = ContinuousClock.now
        let dead = state.withLock { state in
            state.crashes.append((index, crashed.life, now))
            var dead: [Int] = []
            for number in state.generations.indices
            where state.generations[number].instance == index && state.generations[number].life == crashed.life
                && state.generations[number].endedAt == nil
            {
                state.generations[number].crashedAt = now
                state.generations[number].endedAt = now
                state.endSource(of: number, as: .crashed)
                dead.append(number)
            }
            for number in state.readers.indices
            where state.readers[number].instance == index && state.readers[number].life == crashed.life && state.readers[number].ending == nil {
                state.readers[number].crashedAt = now
            }
            return dead
        }
        for generation in dead { sources.removeValue(forKey: generation)?.finish() }
        crashedContexts.append(Self.shutDown(crashed.context, after: Self.crashedContextLifetime))
        do {
            instances[index] = try makeInstance(index, life: crashed.life + 1)
        } catch {
            count("a new instance could not start: \(error)")
        }
    }

    private static func shutDown(_ context: ResumableStreamContext, after delay: Duration) -> Task<Void, Never> {
        Task {
            try? await Task.sleep(for: delay)
            await context.shutdown(gracePeriod: .zero)
        }
    }

    // MARK: the end

    /// Ends every source, waits for every reader, checks, and tears everything down.
    private func finish() async -> Report {
        let open = state.withLock { state in
            state.operation += 1
            let open = state.openByID.values.flatMap { $0 }
            for number in open { state.endSource(of: number, as: .finished) }
            return open
        }
        for generation in open { sources.removeValue(forKey: generation)?.finish() }
        let deadline = ContinuousClock.now + Self.bound + .seconds(5)
        while ContinuousClock.now < deadline, state.withLock({ $0.readers.contains { $0.ending == nil } }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let final = state.withLock { $0 }
        let violations = ModelChecks.violations(in: final, bound: Self.bound)

        for task in readerTasks { task.cancel() }
        for instance in instances { await instance.context.shutdown(gracePeriod: .seconds(1)) }
        for task in crashedContexts { await task.value }
        for instance in instances { instance.proxy.stop() }
        for proxy in retiredProxies { proxy.stop() }
        try? server.stop()
        return Report(violations: violations, summary: summary(of: final, violations: violations))
    }

    private func summary(of state: ModelState, violations: [ModelViolation]) -> String {
        let operations = performed.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let outcomes = state.outcomes.sorted { $0.value > $1.value }.map { "\($0.value) × \($0.key)" }.joined(separator: "; ")
        var endings: [String: Int] = [:]
        for reader in state.readers {
            let ending =
                switch reader.ending {
                case .sourceFailed?: "with its source's failure"
                case let ending? where ending.producerFailure != nil: "with producerFailed"
                case let ending: ModelChecks.describe(ending)
                }
            endings[ending, default: 0] += 1
        }
        let ended = endings.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        var kinds: [String: Int] = [:]
        for violation in violations { kinds[violation.kind.rawValue, default: 0] += 1 }
        let broken = kinds.isEmpty ? "no violation" : kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return """
            \(state.generations.count) generations, \(state.readers.count) readers (ended: \(ended)); \(broken)
              operations: \(operations)
              outcomes: \(outcomes)
            """
    }
}

/// The error a generation's source throws when the model makes it fail.
struct ModelSourceFailure: Error, CustomStringConvertible {
    let generation: Int
    var description: String { "the source of g\(generation) failed" }
}
