import Foundation
import Testing

@testable import ResumableStream

@Suite("Server-sent events", .timeLimit(.minutes(1)))
struct ServerSentEventsTests {
    /// What an `EventSource` does with a response: split events, join `data:` lines, remember `id:`.
    private func parse(_ events: [String]) throws -> (text: String, lastEventID: String?) {
        var text = ""
        var lastEventID: String?
        for event in events {
            #expect(event.hasSuffix("\n\n"))
            for line in event.split(separator: "\n") {
                if line.hasPrefix("id: ") { lastEventID = String(line.dropFirst(4)) }
                if line.hasPrefix("data: ") {
                    text += try JSONDecoder().decode(String.self, from: Data(line.dropFirst(6).utf8))
                }
            }
        }
        return (text, lastEventID)
    }

    @Test func eventsCarryTheUTF16OffsetAndEveryCharacterUnchanged() async throws {
        try await withContext(.inMemory) { context in
            let writer = Writer()
            let stream = try await context.resumableStream("sse", makeStream: writer.source).created()
            let chunks = ["line one\nline two\r\n", "carriage\rreturn \"quoted\" \\ tab\t", "emoji 😀 中文 \u{1} \u{2028}", ""]
            for chunk in chunks { writer.write(chunk) }
            writer.close()
            var events: [String] = []
            for try await event in stream.serverSentEvents() { events.append(event) }
            let (text, lastEventID) = try parse(events)
            #expect(text == chunks.joined())
            #expect(lastEventID == String(chunks.joined().utf16.count))
            #expect(events.first == "retry: 1000\n\n")
            #expect(events.dropFirst().allSatisfy { $0.split(separator: "\n").count == 2 })
        }
    }

    @Test func aBrowserThatReconnectsWithLastEventIDGetsNoGapAndNoDuplicate() async throws {
        try await withContext(.inMemory) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("sse", makeStream: writer.source).created()
            var first = producer.serverSentEvents().makeAsyncIterator()
            // One chunk at a time: a reader that is behind takes two writes as one event.
            writer.write("Hello, ")
            let hello = try await first.next()!
            writer.write("wörld 😀")
            let received = [hello, try await first.next()!]
            let (before, lastEventID) = try parse(received)
            // The connection drops; the browser reconnects with Last-Event-ID.
            let skip = try #require(ServerSentEvents.skipCharacters(lastEventID: lastEventID, resumeAt: "3"))
            let resumed = try await context.resumeExistingStream("sse", skipCharacters: skip).resumed()
            writer.write(" and more")
            writer.close()
            var after: [String] = []
            for try await event in resumed.serverSentEvents(startingAt: skip) { after.append(event) }
            let (rest, finalID) = try parse(after)
            #expect(before + rest == "Hello, wörld 😀 and more")
            #expect(finalID == String((before + rest).utf16.count))
        }
    }

    @Test func skipCharactersPrefersLastEventIDThenResumeAt() {
        #expect(ServerSentEvents.skipCharacters(lastEventID: "12", resumeAt: "3") == 12)
        #expect(ServerSentEvents.skipCharacters(lastEventID: nil, resumeAt: "3") == 3)
        #expect(ServerSentEvents.skipCharacters(lastEventID: "garbage", resumeAt: "3") == 3)
        #expect(ServerSentEvents.skipCharacters(lastEventID: "-1", resumeAt: nil) == nil)
        #expect(ServerSentEvents.skipCharacters(lastEventID: nil, resumeAt: nil) == nil)
    }

    /// Any number a client sends is hostile: a resume at the largest offset must not trap the server.
    @Test func aHostileOffsetNeverTraps() async throws {
        try await withContext(.inMemory) { context in
            let writer = Writer()
            _ = try await context.resumableStream("sse", makeStream: writer.source).created()
            let skip = try #require(ServerSentEvents.skipCharacters(lastEventID: String(Int.max), resumeAt: nil))
            let resumed = try await context.resumeExistingStream("sse", skipCharacters: skip).resumed()
            writer.write("late")
            writer.write("r")
            writer.close()
            var events: [String] = []
            for try await event in resumed.serverSentEvents(startingAt: skip) { events.append(event) }
            #expect(try parse(events).text == "later")
            // The Swift producer said where its answer starts: at the end, 0, not at the client's number.
            #expect(try parse(events).lastEventID == "5")
        }
    }

    /// A follower of a TypeScript producer does not know where its text starts: the ids count from the
    /// client's number, and saturate rather than trap.
    @Test func idsFromAnUnknownStartCountFromTheClientsOffsetAndSaturate() async throws {
        var events: [String] = []
        for try await event in ResumableTextStream(of: "abc", startOffset: nil, endingWith: nil).serverSentEvents(
            startingAt: .max - 1, retry: nil, endEvent: nil)
        {
            events.append(event)
        }
        #expect(events == ["id: \(Int.max)\ndata: \"abc\"\n\n"])
    }

    /// While the source pauses, a comment line keeps the response alive; it carries no id and no data, so the
    /// text and the offsets are unchanged.
    @Test func aPausedStreamSendsHeartbeatsThatChangeNothing() async throws {
        try await withContext(.inMemory) { context in
            let writer = Writer()
            let stream = try await context.resumableStream("sse", makeStream: writer.source).created()
            var iterator = stream.serverSentEvents(retry: .milliseconds(1500), heartbeat: .milliseconds(50)).makeAsyncIterator()
            #expect(try await iterator.next() == "retry: 1500\n\n")
            writer.write("before")
            // A heartbeat may come first on a loaded machine: the pause is only 50 ms.
            var event = try await iterator.next()
            while event == ": ping\n\n" { event = try await iterator.next() }
            #expect(event == "id: 6\ndata: \"before\"\n\n")
            #expect(try await iterator.next() == ": ping\n\n")
            #expect(try await iterator.next() == ": ping\n\n")
            writer.write(" after")
            writer.close()
            var rest: [String] = []
            while let event = try await iterator.next() { rest.append(event) }
            #expect(rest.filter { !$0.hasPrefix(":") } == ["id: 12\ndata: \" after\"\n\n", "event: end\ndata: \"\"\n\n"])
        }
    }

    /// Without a retry field, heartbeats or an end event, the response is the data events only.
    /// A stopped stream ends with a `stopped` event, for its producer's reader, a follower, and a client that
    /// comes back after the end; a page tells it from a stream that ended by itself.
    @Test(arguments: Backend.allCases)
    func aStoppedStreamEndsWithAStoppedEvent(_ backend: Backend) async throws {
        try await withContexts(backend, count: 2, configure: { $0.finishedStreamRetention = .seconds(60) }) { contexts in
            let writer = Writer()
            let producer = try await contexts[0].resumableStream("halt", makeStream: writer.source).created()
            var own = producer.serverSentEvents(retry: nil, heartbeat: nil).makeAsyncIterator()
            writer.write("so far")
            #expect(try await own.next() == "id: 6\ndata: \"so far\"\n\n")
            let follower = try await contexts[1].resumeExistingStream("halt").resumed()
            #expect(try await contexts[1].stop("halt") == .stopping)
            #expect(try await own.next() == "event: stopped\ndata: \"\"\n\n")
            #expect(try await own.next() == nil)
            #expect(producer.isStopped)
            var followed: [String] = []
            for try await event in follower.serverSentEvents(retry: nil, heartbeat: nil) { followed.append(event) }
            #expect(followed.last == "event: stopped\ndata: \"\"\n\n" && follower.isStopped)
            #expect(await contexts[0].drain(timeout: .seconds(5)))
            let late = try #require(try await contexts[1].resumeExistingStream("halt", skipCharacters: 2).stream)
            var rest: [String] = []
            for try await event in late.serverSentEvents(startingAt: 2, retry: nil, heartbeat: nil) { rest.append(event) }
            #expect(rest == ["id: 6\ndata: \" far\"\n\n", "event: stopped\ndata: \"\"\n\n"])
            // Turned off, the end event stands in.
            let again = try #require(try await contexts[1].resumeExistingStream("halt", skipCharacters: 6).stream)
            var ended: [String] = []
            for try await event in again.serverSentEvents(startingAt: 6, retry: nil, heartbeat: nil, stoppedEvent: nil) { ended.append(event) }
            #expect(ended == ["event: end\ndata: \"\"\n\n"])
        }
    }

    @Test func retryHeartbeatAndEndCanBeTurnedOff() async throws {
        try await withContext(.inMemory) { context in
            let writer = Writer()
            let stream = try await context.resumableStream("sse", makeStream: writer.source).created()
            writer.write("x")
            writer.close()
            var events: [String] = []
            for try await event in stream.serverSentEvents(retry: nil, heartbeat: nil, endEvent: nil) { events.append(event) }
            #expect(events == ["id: 1\ndata: \"x\"\n\n"])
        }
    }

    /// Only a stream that ended normally gets the end event; a failure that a reconnect cannot mend gets the
    /// failure event (named, never with the source's message) before the error, any other error nothing (the
    /// browser reconnects and resumes); a type with a line break cannot inject fields.
    @Test(arguments: [
        (ResumableStreamError.producerFailed("secret detail"), "producerFailed" as String?),
        (.producerUnreachable, "producerUnreachable"), (.interrupted, nil), (.followerTooSlow(1), nil),
    ])
    func theEndEventMarksANormalEndAndTheFailureEventAFinalFailure(_ failure: ResumableStreamError, name: String?) async throws {
        var events: [String] = []
        await #expect(throws: failure) {
            for try await event in ResumableTextStream(of: "abc", startOffset: 0, endingWith: failure).serverSentEvents(retry: nil) {
                events.append(event)
            }
        }
        #expect(events == ["id: 3\ndata: \"abc\"\n\n"] + (name.map { ["event: failed\ndata: \"\($0)\"\n\n"] } ?? []))
        var ended: [String] = []
        for try await event in ResumableTextStream(of: "", startOffset: 0, endingWith: nil).serverSentEvents(retry: nil, endEvent: "done\nid: 99") {
            ended.append(event)
        }
        #expect(ended == ["event: done\ndata: \"\"\n\n"])
    }
}
