import RedisBridge
import Testing

@testable import ResumableStream

/// The hand-over from a producer's source or a follower's relay to the stream's one reader.
@Suite("Text queue", .timeLimit(.minutes(1)))
struct TextQueueTests {
    /// A reader that was behind gets what accumulated as one chunk, then the end; nothing after the end.
    @Test func aReaderThatWasBehindGetsOneMergedChunkThenTheEnd() async throws {
        let queue = TextQueue()
        queue.push("a")
        queue.push("")
        queue.push("bc")
        queue.finish()
        queue.push("after the end")
        #expect(try await queue.next() == "abc")
        #expect(try await queue.next() == nil)
        #expect(try await queue.next() == nil)
    }

    /// A waiting reader is woken by the next piece; text written while it was away comes with the error,
    /// which is thrown once.
    @Test func aWaitingReaderIsWokenAndAnErrorComesAfterThePendingText() async throws {
        let queue = TextQueue()
        let first = Task { try await queue.next() }
        while !queue.isReaderWaiting { await Task.yield() }
        queue.push("live")
        #expect(try await first.value == "live")
        queue.push("x")
        queue.push("y")
        queue.finish(throwing: ResumableStreamError.interrupted)
        #expect(try await queue.next() == "xy")
        await #expect(throws: ResumableStreamError.interrupted) { try await queue.next() }
        #expect(try await queue.next() == nil)
    }

    /// A waiting reader woken by a piece takes everything written by the time it runs: a burst costs it one
    /// wake-up. (The reader runs on the main actor, which the writer holds while it writes the burst.)
    @MainActor @Test func aWokenReaderTakesTheWholeBurstWrittenBeforeItRuns() async throws {
        let queue = TextQueue()
        let reader = Task { @MainActor in try await queue.next() }
        while !queue.isReaderWaiting { await Task.yield() }
        queue.push("one ")
        queue.push("burst")
        queue.finish()
        #expect(try await reader.value == "one burst")
        #expect(try await queue.next() == nil)
    }

    /// Past the byte limit a push is refused and hands nothing over; what the reader takes frees room again.
    @Test func unreadTextIsBoundedByTheByteLimit() async throws {
        let queue = TextQueue(byteLimit: 4)
        #expect(queue.push("ab"))
        #expect(queue.push("cd"))
        #expect(!queue.push("e"))
        #expect(try await queue.next() == "abcd")
        #expect(queue.push("é!"))
        #expect(!queue.push("fg"))
        #expect(try await queue.next() == "é!")
    }

    /// Cancelling a waiting reader ends the reading (the writer's later text is dropped) and calls the
    /// termination handler once; a handler set after the end is called at once.
    @Test func cancellingTheReaderEndsTheReadingAndTerminatesOnce() async throws {
        let queue = TextQueue()
        let terminations = Locked(0)
        queue.onTermination { terminations.withLock { $0 += 1 } }
        let reader = Task { try await queue.next() }
        while !queue.isReaderWaiting { await Task.yield() }
        reader.cancel()
        #expect(try await reader.value == nil)
        queue.push("dropped")
        queue.finish()
        #expect(try await queue.next() == nil)
        #expect(terminations.withLock { $0 } == 1)
        queue.onTermination { terminations.withLock { $0 += 1 } }
        #expect(terminations.withLock { $0 } == 2)
    }

    /// A fast writer on another task and a reader that races it: every byte arrives once, in order.
    @Test func aFastWriterLosesNothingAndDuplicatesNothing() async throws {
        let queue = TextQueue()
        let pieces = (0..<100_000).map { "\($0)," }
        let writer = Task {
            for piece in pieces { queue.push(piece) }
            queue.finish()
        }
        var text = ""
        while let chunk = try await queue.next() { text += chunk }
        await writer.value
        #expect(text == pieces.joined())
    }
}
