import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// `createNewResumableStream` called again for an id whose producer still runs (the TypeScript package then
/// has two producers answering every consumer, interleaving two replays): here the newest producer answers
/// every request from its announcement on, the older one keeps serving only its own reader and the followers
/// it already had, and cannot finalise the id while the newer one runs.
@Suite("Replacing a running stream", .timeLimit(.minutes(1)))
struct ReplacementTests {
    @Test(arguments: Backend.allCases)
    func aSecondCreateNewTakesOverWithoutInterleaving(_ backend: Backend) async throws {
        try await withContexts(backend, count: 2) { contexts in
            let (first, second) = (contexts[0], contexts[1])
            let oldWriter = Writer()
            let newWriter = Writer()
            let oldOwn = try await first.createNewResumableStream("chat", makeStream: oldWriter.source)
            let oldFollower = try await second.resumeExistingStream("chat").resumed()
            oldWriter.write("old 1 · ")
            // Make sure the old producer answered before it is replaced.
            var oldFollowerChunks = oldFollower.makeAsyncIterator()
            #expect(try await oldFollowerChunks.next() == "old 1 · ")

            let newOwn = try await second.createNewResumableStream("chat", makeStream: newWriter.source)
            var newFollowers: [ResumableTextStream] = []
            for index in 0..<10 {
                newFollowers.append(try await contexts[index % 2].resumeExistingStream("chat").resumed())
            }
            oldWriter.write("old 2")
            newWriter.write("new 1 · ")
            oldWriter.close()
            #expect(try await oldOwn.collect() == "old 1 · old 2")
            #expect(await eventually { first.activeProducerCount == 0 })
            // The old producer finished first, and left the id to the new one.
            #expect(try await second.hasExistingStream("chat") == .inProgress)
            let lateFollower = try await first.resumeExistingStream("chat").resumed()

            newWriter.write("new 2")
            newWriter.close()
            #expect(try await newOwn.collect() == "new 1 · new 2")
            var rest = ""
            while let chunk = try await oldFollowerChunks.next() { rest += chunk }
            #expect(rest == "old 2")
            for follower in newFollowers + [lateFollower] {
                #expect(try await follower.collect() == "new 1 · new 2")
            }
            #expect(await second.drain(timeout: .seconds(5)))
            #expect(try await first.hasExistingStream("chat") == .done)
        }
    }

    @Test(arguments: Backend.allCases)
    func theReplacedProducerCannotEndTheNewOnesStream(_ backend: Backend) async throws {
        struct SourceBroke: Error {}
        try await withContext(backend) { context in
            let (oldSource, oldContinuation) = AsyncThrowingStream<String, any Error>.makeStream()
            let newWriter = Writer()
            _ = try await context.createNewResumableStream("job") { oldSource }
            _ = try await context.createNewResumableStream("job", makeStream: newWriter.source)
            let follower = try await context.resumeExistingStream("job").resumed()
            // The old producer fails while the new one runs: neither the DONE sentinel nor the failure it
            // would write may reach the id.
            oldContinuation.finish(throwing: SourceBroke())
            #expect(await eventually { context.activeProducerCount == 1 })
            #expect(try await context.hasExistingStream("job") == .inProgress)
            newWriter.write("fine")
            newWriter.close()
            #expect(try await follower.collect() == "fine")
            #expect(await context.drain(timeout: .seconds(5)))
            #expect(try await context.hasExistingStream("job") == .done)
        }
    }

    /// A request that reaches the channel after the new producer subscribed but before its announcement is
    /// answered by the old producer only: the new one answers from its own announcement on.
    @Test func aRequestJustBeforeTheAnnouncementIsAnsweredOnce() async throws {
        let keys = StreamKeys(keyPrefix: "race", streamID: "chat")
        let early = keys.chunks(for: "early")
        let backend = InstrumentedBackend { base, message, channel in
            guard case .generation? = RequestMessage.parse(message) else { return }
            _ = try await base.publishMessage(RequestMessage.encodeResume(listenerID: "early", skipCharacters: nil), to: channel)
        }
        let context = ResumableStreamContext(
            configuration: .init(keyPrefix: "race", ackTimeout: handshakePatience), publisher: backend, subscriber: backend)
        let oldWriter = Writer()
        let newWriter = Writer()
        let oldOwn = try await context.resumableStream("chat", makeStream: oldWriter.source).created()
        var oldIterator = oldOwn.makeAsyncIterator()
        oldWriter.write("old 1 · ")
        #expect(try await oldIterator.next() == "old 1 · ")
        let earlyMessages = try await backend.base.textSubscription(to: early)
        let newOwn = try await context.createNewResumableStream("chat", makeStream: newWriter.source)
        newWriter.write("new 1")
        newWriter.close()
        #expect(try await newOwn.collect() == "new 1")
        oldWriter.write("old 2")
        oldWriter.close()
        #expect(try await oldIterator.next() == "old 2")
        #expect(try await oldIterator.next() == nil)
        #expect(await context.drain(timeout: .seconds(5)))

        var received: [String] = []
        for await case .message(let text) in earlyMessages {
            received.append(text)
            if text == WireProtocol.doneMessage { break }
        }
        #expect(received == ["old 1 · ", "old 2", WireProtocol.doneMessage])
        await context.shutdown(gracePeriod: .seconds(1))
    }

    /// Announcements travel by pub/sub, which loses messages in a reconnect: the producers then see a gap
    /// instead. The old producer checks the generation key at a gap and retires; the new one, if it lost its
    /// own announcement, makes another. Either way followers get the new stream only.
    @Test(arguments: [0, 1])
    func anAnnouncementLostInAReconnectChangesNothing(losingSubscription: Int) async throws {
        let lost = Locked(false)
        let backend = InstrumentedBackend(rewriteIncoming: { _, subscription, message in
            guard subscription == losingSubscription, case .message(let text) = message,
                case .generation? = RequestMessage.parse(text),
                lost.withLock({ lost in
                    defer { lost = true }; return !lost
                })
            else { return message }
            return .gap
        })
        let context = ResumableStreamContext(
            configuration: .init(keyPrefix: "lost", ackTimeout: handshakePatience), publisher: backend, subscriber: backend)
        let oldWriter = Writer()
        let newWriter = Writer()
        let oldOwn = try await context.resumableStream("chat", makeStream: oldWriter.source).created()
        oldWriter.write("old · ")
        let newOwn = try await context.createNewResumableStream("chat", makeStream: newWriter.source)
        var followers: [ResumableTextStream] = []
        for _ in 0..<5 { followers.append(try await context.resumeExistingStream("chat").resumed()) }
        newWriter.write("new")
        newWriter.close()
        oldWriter.write("old")
        oldWriter.close()
        #expect(lost.withLock { $0 })
        for follower in followers { #expect(try await follower.collect() == "new") }
        #expect(try await newOwn.collect() == "new")
        #expect(try await oldOwn.collect() == "old · old")
        await context.shutdown(gracePeriod: .seconds(5))
    }
}

/// The two fenced steps of the backends, on their own: Redis (Lua scripts) and the in-process backend must agree.
@Suite("Fenced finalisation and refresh", .timeLimit(.minutes(1)))
struct FencedStepTests {
    private func withPublisher(_ backend: Backend, _ body: (any ResumableStreamPublisher) async throws -> Void) async throws {
        switch backend {
        case .redis: try await withConnections(try sharedConfiguration()) { commands, _ in try await body(commands) }
        case .inMemory: try await body(InMemoryBackend())
        }
    }

    @Test(arguments: Backend.allCases)
    func aRefreshNeitherShortensAFinishedStreamNorExtendsASuccessor(_ backend: Backend) async throws {
        try await withPublisher(backend) { publisher in
            let (sentinel, generation) = (uniqueName("sentinel"), uniqueName("generation"))
            try await publisher.setValue("1", for: sentinel, expiresIn: .seconds(60))
            // No generation key: the producer that created the id with SET NX (empty token) refreshes.
            #expect(try await publisher.extendExpiry(of: sentinel, to: .seconds(60), unlessItHolds: "DONE", fencedBy: generation, token: ""))
            // A successor's generation key: no refresh.
            try await publisher.setValue("successor", for: generation, expiresIn: .seconds(60))
            #expect(try await !publisher.extendExpiry(of: sentinel, to: .seconds(60), unlessItHolds: "DONE", fencedBy: generation, token: ""))
            #expect(try await publisher.extendExpiry(of: sentinel, to: .seconds(60), unlessItHolds: "DONE", fencedBy: generation, token: "successor"))
            // Finished: no refresh, even by the owner, so the DONE keeps its own expiry.
            #expect(try await publisher.setValues([(sentinel, "DONE", .seconds(3600))], fencedBy: generation, token: "successor"))
            #expect(
                try await !publisher.extendExpiry(of: sentinel, to: .seconds(60), unlessItHolds: "DONE", fencedBy: generation, token: "successor"))
            // A missing key is not created.
            #expect(
                try await !publisher.extendExpiry(
                    of: uniqueName("missing"), to: .seconds(60), unlessItHolds: "DONE", fencedBy: generation, token: "successor"))
            if let commands = publisher as? RedisCommandConnection {
                let ttl = try #require(try await commands.send(["TTL", .string(sentinel)]).int)
                #expect(ttl > 3000, "the finished sentinel's expiry was shortened to \(ttl) s")
                _ = try await commands.del([sentinel, generation])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func onlyTheGenerationKeysHolderFinalises(_ backend: Backend) async throws {
        try await withPublisher(backend) { publisher in
            let (sentinel, generation) = (uniqueName("sentinel"), uniqueName("generation"))
            try await publisher.setValue("1", for: sentinel, expiresIn: .seconds(60))
            try await publisher.setValue("new", for: generation, expiresIn: .seconds(60))
            #expect(try await !publisher.setValues([(sentinel, "DONE", .seconds(60))], fencedBy: generation, token: "old"))
            #expect(try await !publisher.setValues([(sentinel, "DONE", .seconds(60))], fencedBy: generation, token: ""))
            #expect(try await publisher.value(of: sentinel) == "1")
            #expect(try await publisher.setValues([(sentinel, "DONE", .seconds(60))], fencedBy: generation, token: "new"))
            #expect(try await publisher.value(of: sentinel) == "DONE")
            try await publisher.delete(generation)
            // Without a generation key anyone finalises (the SET NX producer, whose token is empty).
            #expect(try await publisher.setValues([(sentinel, "DONE", .seconds(60))], fencedBy: generation, token: ""))
            try await publisher.delete(sentinel)
        }
    }
}
