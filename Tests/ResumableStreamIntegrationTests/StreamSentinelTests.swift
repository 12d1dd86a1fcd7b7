import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// The sentinel's states and transitions, on both backends, read back from the keys themselves.
@Suite("The sentinel key", .timeLimit(.minutes(1)))
struct SentinelTests {
    /// A sentinel of a fresh stream on `backend`, with `runningTTL` as given.
    func withSentinel(
        _ backend: Backend, runningTTL: Duration = .seconds(300), _ body: (StreamSentinel) async throws -> Void
    ) async throws {
        let configuration = ResumableStreamConfiguration(keyPrefix: testPrefix(), runningTTL: runningTTL)
        let keys = StreamKeys(keyPrefix: configuration.keyPrefix, streamID: "sentinel-test")
        switch backend {
        case .inMemory:
            try await body(StreamSentinel(keys: keys, publisher: InMemoryBackend(), configuration: configuration))
        case .redis:
            let commands = RedisCommandConnection(configuration: try sharedConfiguration())
            do {
                try await body(StreamSentinel(keys: keys, publisher: commands, configuration: configuration))
                await commands.close()
            } catch {
                await commands.close()
                throw error
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func claimIfAbsentCountsCallersUntilDone(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            #expect(try await sentinel.state() == .absent)
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.sentinel) == "1")
            #expect(try await sentinel.publisher.value(of: sentinel.keys.generation) == first.hex)
            #expect(try await sentinel.state() == .running)
            #expect(try await sentinel.claim(.ifAbsent) == .running)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.sentinel) == "2")
            #expect(try await sentinel.publisher.value(of: sentinel.keys.generation) == first.hex, "a follower claims nothing")
            #expect(try await sentinel.finalise(as: .completed, for: first, text: ""))
            #expect(try await sentinel.publisher.value(of: sentinel.keys.sentinel) == "DONE")
            #expect(try await sentinel.state() == .done)
            #expect(try await sentinel.claim(.ifAbsent) == .done)
        }
    }

    @Test(arguments: Backend.allCases)
    func finaliseRecordsAnEndingOtherThanCompleted(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            #expect(try await sentinel.finalise(as: .failed("boom"), for: first, text: ""))
            #expect(try await sentinel.state() == .done)
            #expect(await sentinel.ending() == .failed("boom"))
            let meta = try await sentinel.publisher.value(of: sentinel.keys.meta)
            #expect(meta.flatMap(StreamEnding.init(json:)) == .failed("boom"))
        }
    }

    @Test(arguments: Backend.allCases)
    func completedEndingWritesNoMeta(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            #expect(try await sentinel.finalise(as: .completed, for: first, text: ""))
            #expect(try await sentinel.publisher.value(of: sentinel.keys.meta) == nil)
            #expect(await sentinel.ending() == .completed)
        }
    }

    @Test(arguments: Backend.allCases)
    func anotherGenerationFencesRefreshAndFinalise(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            let second = try await sentinel.claimed(.replacing, announced: true)
            #expect(try await sentinel.refresh(for: first) == false)
            #expect(try await sentinel.finalise(as: .stopped, for: first, text: "") == false)
            #expect(try await sentinel.state() == .running)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.meta) == nil)
            #expect(try await sentinel.refresh(for: second))
            #expect(try await sentinel.finalise(as: .stopped, for: second, text: ""))
            #expect(try await sentinel.state() == .done)
            #expect(await sentinel.ending() == .stopped)
        }
    }

    @Test(arguments: Backend.allCases)
    func refreshNeverRevivesAFinishedStream(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            #expect(try await sentinel.refresh(for: first))
            #expect(try await sentinel.finalise(as: .completed, for: first, text: ""))
            #expect(try await sentinel.refresh(for: first) == false)
            #expect(try await sentinel.state() == .done)
        }
    }

    /// A claim starts a new life of the id: everything the earlier one left (its ending, retained text,
    /// durable log and a stop request aimed at it) is gone in the same step, and the new generation is
    /// announced (an earlier producer may still listen).
    @Test(arguments: Backend.allCases)
    func aClaimForgetsEverythingAnEarlierLifeLeftAndAnnouncesItself(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            let keys = sentinel.keys
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            #expect(try await sentinel.storeStopRequest(expiresIn: .seconds(60)) == .running(generation: first.hex))
            #expect(try await sentinel.isStopStored(for: first))
            #expect(
                try await sentinel.publisher.appendToLog(
                    .init(offset: 0, text: "old"), at: keys.log, expiresIn: .seconds(60), fencedBy: keys.generation, generation: first.hex))
            #expect(try await sentinel.finalise(as: .stopped, for: first, text: "old"))
            let second = try await sentinel.claimed(.replacing, announced: true)
            #expect(try await sentinel.publisher.value(of: keys.sentinel) == "1")
            for key in [keys.meta, keys.text, keys.stopFlag] { #expect(try await sentinel.publisher.value(of: key) == nil, "\(key)") }
            #expect(try await sentinel.publisher.logEntries(at: keys.log, after: 0, limit: nil).isEmpty)
            #expect(try await sentinel.isStopStored(for: second) == false)
        }
    }

    /// A stop request names the generation that runs when it is asked; it is stored for nothing once the
    /// stream finished or when there is none.
    @Test(arguments: Backend.allCases)
    func aStopRequestIsStoredForTheRunningGenerationOnly(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            #expect(try await sentinel.storeStopRequest(expiresIn: .seconds(60)) == .absent)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.stopFlag) == nil)
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            #expect(try await sentinel.storeStopRequest(expiresIn: .seconds(60)) == .running(generation: first.hex))
            #expect(try await sentinel.isStopStored(for: first))
            #expect(try await sentinel.finalise(as: .stopped, for: first, text: ""))
            #expect(try await sentinel.storeStopRequest(expiresIn: .seconds(60)) == .done)
        }
    }

    /// A durable log is written by one generation only: appends of an earlier one are refused once a newer
    /// one claimed the id.
    @Test(arguments: Backend.allCases)
    func logAppendsAreFencedByTheGeneration(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            let keys = sentinel.keys
            func append(_ text: String, at offset: Int, as generation: StreamGeneration) async throws -> Bool {
                try await sentinel.publisher.appendToLog(
                    .init(offset: offset, text: text), at: keys.log, expiresIn: .seconds(60), fencedBy: keys.generation, generation: generation.hex)
            }
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            #expect(try await append("aaaa", at: 0, as: first))
            let second = try await sentinel.claimed(.replacing, announced: true)
            #expect(try await append("bb", at: 0, as: second))
            #expect(try await append("aaaa", at: 4, as: first) == false)
            #expect(try await sentinel.publisher.logEntries(at: keys.log, after: 0, limit: nil) == [.init(offset: 0, text: "bb")])
        }
    }

    /// A claim stores a generation on the backend's clock, larger than the one it replaces: one more than it,
    /// when the clock says otherwise (a generation from a server whose clock ran ahead).
    @Test(arguments: Backend.allCases)
    func claimsStoreGenerationsInTheOrderOfTheClaims(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            let first = try await sentinel.claimed(.ifAbsent, announced: false)
            let second = try await sentinel.claimed(.replacing, announced: true)
            #expect(first < second)
            let ahead = try #require(StreamGeneration(hex: "ffffffff00000fff"))
            try await sentinel.publisher.setValue(ahead.hex, for: sentinel.keys.generation, expiresIn: .seconds(60))
            #expect(try await sentinel.claimed(.replacing, announced: true) == StreamGeneration(value: ahead.value + 1))
        }
    }
}

extension StreamSentinel {
    /// Claims the id in `mode` and returns the generation the claim stored, expecting it to have claimed it
    /// (and announced it, or not).
    func claimed(_ mode: StreamClaim.Mode, announced: Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws -> StreamGeneration {
        let outcome = try await claim(mode)
        guard case .claimed(let generation, let wasAnnounced) = outcome else {
            Issue.record("the claim found \(outcome)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        #expect(wasAnnounced == announced, sourceLocation: sourceLocation)
        return generation
    }
}
