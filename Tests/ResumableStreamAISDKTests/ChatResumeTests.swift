import Foundation
import RedisBridge
import RedisTestSupport
import ResumableStream
import ResumableStreamAISDK
import Testing

/// Chats answered on one instance and resumed, regenerated and stopped from another, against a real Redis
/// (and the in-process backend).
@Suite struct ChatResumeTests {
    private let deltas = ["Hello", ", ", "wor", "ld", "! \"Quoted\"\n", "ünïcödé 😀", "\u{2028}", "\\ done."]

    @Test(arguments: Backend.allCases)
    func aClientThatDroppedResumesTheWholeAnswerOnAnotherInstance(_ backend: Backend) async throws {
        try await withChats(backend, count: 2) { chats in
            let writer = DeltaWriter()
            let post = try await chats[0].startAnswer(chatID: "chat-1", messageID: "msg-1", makeTextDeltas: writer.deltas)
            #expect(post.streamID.hasPrefix("chat-1:"))
            #expect(try await chats[1].activeStreamID(chatID: "chat-1") == post.streamID)
            for delta in deltas.prefix(3) { writer.write(delta) }
            // The POST's client reads the start and three deltas, then drops the connection.
            var iterator = post.makeAsyncIterator()
            // start, start-step, text-start and three deltas: six events.
            let seen = await read(6, from: &iterator)
            #expect(ParsedUIMessageStream(seen + "\n\n").text == deltas.prefix(3).joined())
            _ = consume iterator

            // The page reloads: useChat's GET {api}/chat-1/stream lands on the other instance.
            let resumed = try await chats[1].resumeAnswer(chatID: "chat-1")
            #expect(resumed.status == 200)
            let body = try resumed.body()
            #expect(body.streamID == post.streamID)
            let reading = Task { await body.collect() }
            for delta in deltas.dropFirst(3) { writer.write(delta) }
            writer.close()
            let text = await reading.value

            let parsed = ParsedUIMessageStream(text)
            #expect(parsed.text == deltas.joined())
            #expect(parsed.types == ParsedUIMessageStream.textAnswerTypes(deltas: deltas.count))
            #expect(parsed.chunks.first?["messageId"] as? String == "msg-1")
            #expect(parsed.endsWithDone)
            #expect(text.hasSuffix("data: {\"type\":\"finish\"}\n\ndata: [DONE]\n\n"))

            // Once it ended, there is nothing to resume, on either instance.
            #expect(try await chats[0].resumeAnswer(chatID: "chat-1").isNoContent)
            #expect(try await chats[1].resumeAnswer(chatID: "chat-1").status == 204)
            #expect(try await chats[1].activeStreamID(chatID: "chat-1") == nil)
        }
    }

    @Test func theResumeFromTheStartIsByteForByteThePostsBody() async throws {
        try await withChats(count: 2) { chats in
            let writer = DeltaWriter()
            let post = try await chats[0].startAnswer(chatID: "chat-bytes", makeTextDeltas: writer.deltas)
            let postReading = Task { await post.collect() }
            writer.write("one ")
            let body = try await chats[1].resumeAnswer(chatID: "chat-bytes").body()
            let resumeReading = Task { await body.collect() }
            writer.write("two")
            writer.close()
            let (postText, resumedText) = (await postReading.value, await resumeReading.value)
            #expect(resumedText == postText)
            #expect(ParsedUIMessageStream(postText).types == ParsedUIMessageStream.textAnswerTypes(deltas: 2))
        }
    }

    @Test func anUnknownChatHasNothingToResumeOrStop() async throws {
        try await withChats(count: 1) { chats in
            let (unknown, stopped, empty) = (
                try await chats[0].resumeAnswer(chatID: "never-asked"), try await chats[0].stopAnswer(chatID: "never-asked"),
                try await chats[0].resumeAnswer(chatID: "")
            )
            #expect(unknown.isNoContent)
            #expect(stopped == false)
            #expect(empty.isNoContent)
            do {
                _ = try await chats[0].startAnswer(chatID: "", makeTextDeltas: DeltaWriter().deltas)
                Issue.record("an empty chat id was accepted")
            } catch {
                #expect(error as? ResumableStreamError == .emptyStreamID)
            }
        }
    }

    @Test func aRegeneratedAnswerIsANewStreamAndTheOldOneEndingLastDoesNotClearIt() async throws {
        try await withChats(count: 2) { chats in
            let first = DeltaWriter()
            let firstPost = try await chats[0].startAnswer(chatID: "chat-2", makeTextDeltas: first.deltas)
            first.write("first answer, ")
            // A reader of the first answer (another tab) resumes it on the other instance.
            let firstReader = try await chats[1].resumeAnswer(chatID: "chat-2").body()
            let firstReading = Task { await firstReader.collect() }

            // Regenerate: a new answer in the same chat, started on the other instance.
            let second = DeltaWriter()
            let secondPost = try await chats[1].startAnswer(chatID: "chat-2", makeTextDeltas: second.deltas)
            #expect(secondPost.streamID != firstPost.streamID)
            #expect(try await chats[0].activeStreamID(chatID: "chat-2") == secondPost.streamID)
            let secondReader = try await chats[0].resumeAnswer(chatID: "chat-2").body()
            #expect(secondReader.streamID == secondPost.streamID)
            let secondReading = Task { await secondReader.collect() }
            second.write("second answer")
            second.close()
            #expect(ParsedUIMessageStream(await secondReading.value).text == "second answer")
            #expect(try await chats[0].resumeAnswer(chatID: "chat-2").isNoContent)

            // A third answer starts; then the first one ends, last: the third stays the chat's active answer.
            let third = DeltaWriter()
            let thirdPost = try await chats[0].startAnswer(chatID: "chat-2", makeTextDeltas: third.deltas)
            first.write("still the first")
            first.close()
            let firstText = ParsedUIMessageStream(await firstReading.value)
            #expect(firstText.text == "first answer, still the first")
            #expect(firstText.endsWithDone)
            #expect(ParsedUIMessageStream(await firstPost.collect()).text == "first answer, still the first")
            #expect(try await chats[1].activeStreamID(chatID: "chat-2") == thirdPost.streamID)
            third.write("third")
            third.close()
            #expect(ParsedUIMessageStream(await thirdPost.collect()).text == "third")
        }
    }

    @Test(arguments: Backend.allCases)
    func aStopFromTheOtherInstanceEndsTheAnswerForEveryReader(_ backend: Backend) async throws {
        try await withChats(backend, count: 2) { chats in
            let writer = DeltaWriter()
            let post = try await chats[0].startAnswer(chatID: "chat-3", makeTextDeltas: writer.deltas)
            writer.write("partial")
            // The POST's client reads until the delta came, so the producer has it before the stop.
            var postEvents = post.makeAsyncIterator()
            var postText = ""
            while !postText.contains("partial"), let events = await postEvents.next() { postText += events }
            let follower = try await chats[1].resumeAnswer(chatID: "chat-3").body()
            let following = Task { await follower.collect() }
            // A stale stop (for another answer) stops nothing.
            #expect(try await chats[1].stopAnswer(chatID: "chat-3", streamID: "chat-3:0000000000000000") == false)
            #expect(try await chats[1].stopAnswer(chatID: "chat-3", streamID: post.streamID))
            while let events = await postEvents.next() { postText += events }

            for text in [postText, await following.value] {
                let parsed = ParsedUIMessageStream(text)
                #expect(parsed.text == "partial")
                #expect(parsed.types.last == "abort")
                #expect(parsed.endsWithDone)
            }
            #expect(try await chats[0].activeStreamID(chatID: "chat-3") == nil)
            #expect(try await chats[0].resumeAnswer(chatID: "chat-3").isNoContent)
            #expect(try await chats[0].stopAnswer(chatID: "chat-3") == false)
        }
    }

    @Test func aSourceThatThrowsEndsWithAnErrorChunkForTheResumeToo() async throws {
        try await withChats(count: 2) { chats in
            let gate = DeltaWriter()
            let post = try await chats[0].startAnswer(chatID: "chat-4") {
                // Waits for the test's signal, then two deltas and a failure.
                for await _ in gate.stream { break }
                return FailingDeltas(deltas: ["a", "b"])
            }
            let resumed = try await chats[1].resumeAnswer(chatID: "chat-4").body()
            let resuming = Task { await resumed.collect() }
            gate.write("go")
            for text in [await post.collect(), await resuming.value] {
                let parsed = ParsedUIMessageStream(text)
                #expect(parsed.types == ["start", "start-step", "text-start", "text-delta", "text-delta", "error"])
                #expect(parsed.chunks.last?["errorText"] as? String == "An error occurred.")
                #expect(parsed.endsWithDone)
            }
            #expect(try await chats[1].resumeAnswer(chatID: "chat-4").isNoContent)

            // A source that cannot even be made ends the same way.
            let failed = try await chats[0].startAnswer(chatID: "chat-5") { () async throws -> AsyncStream<String> in
                throw ModelFailure()
            }
            let parsed = ParsedUIMessageStream(await failed.collect())
            #expect(parsed.types == ["start", "start-step", "error"])
            #expect(parsed.endsWithDone)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aSilentAnswerKeepsTheConnectionAlive() async throws {
        try await withChats(count: 1, keepAlive: .milliseconds(50)) { chats in
            let writer = DeltaWriter()
            let post = try await chats[0].startAnswer(chatID: "chat-6", makeTextDeltas: writer.deltas)
            // The answer stays silent until a keep-alive came (however busy the machine), then says its word.
            var (events, text) = (post.makeAsyncIterator(), "")
            while !text.contains(": keep-alive\n\n"), let next = await events.next() { text += next }
            writer.write("late")
            writer.close()
            while let next = await events.next() { text += next }
            #expect(text.contains(": keep-alive\n\n"))
            let parsed = ParsedUIMessageStream(text)
            #expect(parsed.text == "late")
            #expect(parsed.types == ParsedUIMessageStream.textAnswerTypes(deltas: 1))
        }
    }

    @Test func anAnswerWhoseProducerDiedIsUnreachable() async throws {
        try await withChats(count: 1, configure: { $0.ackTimeout = .milliseconds(500) }) { chats in
            // What a producer that died mid-answer leaves behind: its running sentinel and the chat's key.
            let prefix = chats[0].context.configuration.keyPrefix
            let redis = RedisCommandConnection(configuration: try sharedConfiguration())
            try await redis.set("\(prefix):rs:sentinel:chat-7:dead", to: "1", expiresIn: .seconds(30))
            try await redis.set("\(prefix):rs:ai-chat:chat-7", to: "chat-7:dead", expiresIn: .seconds(30))
            await redis.close()
            let resume = try await chats[0].resumeAnswer(chatID: "chat-7")
            guard case .producerUnreachable = resume else {
                Issue.record("expected .producerUnreachable, got \(resume)")
                return
            }
            #expect(resume.status == 503)
        }
    }
}
