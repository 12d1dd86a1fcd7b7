import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// The sentinel's states and transitions, on both backends, read back from the keys themselves.
@Suite("The sentinel key", .timeLimit(.minutes(1)))
struct SentinelTests {
    /// A sentinel of a fresh stream on `backend`, with `runningTTL` as given.
    func withSentinel(
        _ backend: Backend, runningTTL: Duration = .seconds(300), _ body: (Sentinel) async throws -> Void
    ) async throws {
        let configuration = ResumableStreamConfiguration(keyPrefix: testPrefix(), runningTTL: runningTTL)
        let keys = StreamKeys(keyPrefix: configuration.keyPrefix, streamID: "sentinel-test")
        switch backend {
        case .inMemory:
            try await body(Sentinel(keys: keys, publisher: InMemoryBackend(), configuration: configuration))
        case .redis:
            let commands = RedisCommandConnection(configuration: try sharedConfiguration())
            do {
                try await body(Sentinel(keys: keys, publisher: commands, configuration: configuration))
                await commands.close()
            } catch {
                await commands.close()
                throw error
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func createThenJoinCountsCallersUntilDone(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            #expect(try await sentinel.state() == .absent)
            #expect(try await sentinel.create().created)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.sentinel) == "1")
            #expect(try await sentinel.state() == .running)
            #expect(try await sentinel.create().created == false)
            #expect(try await sentinel.join() == .running)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.sentinel) == "2")
            #expect(try await sentinel.finalise(as: .completed, fencedBy: "", text: ""))
            #expect(try await sentinel.publisher.value(of: sentinel.keys.sentinel) == "DONE")
            #expect(try await sentinel.state() == .done)
            #expect(try await sentinel.join() == .done)
            #expect(try await sentinel.create().created == false)
        }
    }

    @Test(arguments: Backend.allCases)
    func joinThatRecreatesAnExpiredSentinelGivesItTheRunningExpiry(_ backend: Backend) async throws {
        try await withSentinel(backend, runningTTL: .seconds(2)) { sentinel throws in
            #expect(try await sentinel.join() == .recreated)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.sentinel) == "1")
            let expired = await eventually(within: .seconds(5)) { (try? await sentinel.state()) == .absent }
            #expect(expired)
        }
    }

    @Test(arguments: Backend.allCases)
    func finaliseRecordsAnEndingOtherThanCompleted(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            #expect(try await sentinel.create().created)
            #expect(try await sentinel.finalise(as: .failed("boom"), fencedBy: "", text: ""))
            #expect(try await sentinel.state() == .done)
            #expect(await sentinel.ending() == .failed("boom"))
            let meta = try await sentinel.publisher.value(of: sentinel.keys.meta)
            #expect(meta.flatMap(StreamEnding.init(json:)) == .failed("boom"))
        }
    }

    @Test(arguments: Backend.allCases)
    func completedEndingWritesNoMeta(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            #expect(try await sentinel.create().created)
            #expect(try await sentinel.finalise(as: .completed, fencedBy: "", text: ""))
            #expect(try await sentinel.publisher.value(of: sentinel.keys.meta) == nil)
            #expect(await sentinel.ending() == .completed)
        }
    }

    @Test(arguments: Backend.allCases)
    func anotherGenerationFencesRefreshAndFinalise(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            try await sentinel.publisher.setValue("successor", for: sentinel.keys.generation, expiresIn: .seconds(60))
            try await sentinel.markRunning()
            #expect(try await sentinel.refresh(fencedBy: "replaced") == false)
            #expect(try await sentinel.finalise(as: .stopped, fencedBy: "replaced", text: "") == false)
            #expect(try await sentinel.state() == .running)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.meta) == nil)
            #expect(try await sentinel.refresh(fencedBy: "successor"))
            #expect(try await sentinel.finalise(as: .stopped, fencedBy: "successor", text: ""))
            #expect(try await sentinel.state() == .done)
            #expect(await sentinel.ending() == .stopped)
        }
    }

    @Test(arguments: Backend.allCases)
    func refreshNeverRevivesAFinishedStream(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            #expect(try await sentinel.create().created)
            #expect(try await sentinel.refresh(fencedBy: ""))
            #expect(try await sentinel.finalise(as: .completed, fencedBy: "", text: ""))
            #expect(try await sentinel.refresh(fencedBy: "") == false)
            #expect(try await sentinel.state() == .done)
        }
    }

    @Test(arguments: Backend.allCases)
    func markRunningReplacesAFinishedStreamAndForgetsItsEnding(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            #expect(try await sentinel.create().created)
            #expect(try await sentinel.finalise(as: .stopped, fencedBy: "", text: ""))
            try await sentinel.markRunning()
            #expect(try await sentinel.publisher.value(of: sentinel.keys.sentinel) == "1")
            #expect(try await sentinel.state() == .running)
            #expect(try await sentinel.publisher.value(of: sentinel.keys.meta) == nil)
        }
    }

    /// The claim also says whether a stop request was stored for the stream before its producer listened, in
    /// the same step, so that the common case costs no GET.
    @Test(arguments: Backend.allCases)
    func theClaimReportsAStoredStopRequest(_ backend: Backend) async throws {
        try await withSentinel(backend) { sentinel throws in
            try await sentinel.publisher.setValue("1", for: sentinel.keys.stopFlag, expiresIn: .seconds(60))
            #expect(try await sentinel.create() == (true, true))
            #expect(try await sentinel.create() == (false, false))
            try await sentinel.publisher.delete(sentinel.keys.sentinel)
            try await sentinel.publisher.delete(sentinel.keys.stopFlag)
            #expect(try await sentinel.create() == (true, false))
            try await sentinel.publisher.delete(sentinel.keys.sentinel)
        }
    }
}
