import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

@Suite("Hostile and unusual input", .timeLimit(.minutes(1)))
struct HostileInputTests {
    /// Random bytes, JSON-shaped text with wrong types, NaN-like and huge numbers, deep nesting, invalid UTF-8.
    static func hostileRequest(_ random: inout SplitMix64) -> String {
        let pieces = [
            "{", "}", "[", "]", "\"listenerId\"", "\"skipCharacters\"", "\"stop\"", "\"generation\"", "\"framing\"", "\"window\"",
            "\"received\"", "\"listener\"", ":", ",", "null", "true",
            "false", "-", "1e309", "NaN", "-0", "2.5", "99999999999999999999999", "\"\\u0000\"", "\"😀\"", "\"",
            "\\", "\u{FFFD}", " ", "\n",
        ]
        switch random.next() % 4 {
        case 0:
            let bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            return String(decoding: bytes, as: UTF8.self)
        case 1:
            return (0..<Int(random.next() % 24)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
        case 2:
            let depth = Int(random.next() % 2000)
            return String(repeating: "[{\"listenerId\":", count: depth)
        default:
            let skip = ["null", "-5", "1e300", "\"7\"", "[1]", "{}", "3.99", "-1e300", "true"][Int(random.next() % 9)]
            let id = ["\"L\"", "1", "null", "\"\"", "[\"L\"]", "\"\(String(repeating: "x", count: Int(random.next() % 300)))\""][
                Int(random.next() % 6)]
            let framing = random.next() % 2 == 0 ? "" : ",\"framing\":2,\"window\":\(skip)"
            return "{\"listenerId\":\(id),\"skipCharacters\":\(skip)\(framing)}"
        }
    }

    @Test func hundredThousandHostileRequestsParseSafely() async {
        var random = SplitMix64(state: 0x5EED)
        var accepted = 0
        for round in 0..<100_000 {
            // Seconds of parsing: let the other tests' tasks run on this thread too.
            if round % 1000 == 0 { await Task.yield() }
            let text = Self.hostileRequest(&random)
            switch RequestMessage.parse(text) {
            case .resume(let listener, _, _)?:
                #expect(!listener.isEmpty)
                accepted += 1
            case .received(let listener, let offset)?:
                #expect(!listener.isEmpty && offset >= 0)
            case .stop?, .generation?, nil:
                break
            }
        }
        #expect(accepted > 0)  // the generator also makes valid requests, which must keep working
    }

    @Test func garbageOnTheRequestChannelDoesNotDisturbTheStream() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis) { context in
                let writer = Writer()
                let producer = try await context.resumableStream("target", makeStream: writer.source).created()
                var own = producer.makeAsyncIterator()
                writer.write("still ")
                #expect(try await own.next() == "still ")
                var random = SplitMix64(state: 42)
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "target")
                let garbage =
                    (0..<500).map { _ in Self.hostileRequest(&random) } + [
                        String(repeating: "{", count: 1 << 20), RequestMessage.encodeGeneration(.fresh()), #"{"generation":"forged"}"#,
                        #"{"stop":true,"generation":"forged"}"#,
                    ]
                for text in garbage { _ = try await commands.publish(text, to: keys.requests) }
                let follower = try await context.resumeExistingStream("target").resumed()
                writer.write("fine")
                writer.close()
                #expect(try await own.next() == "fine")
                #expect(try await follower.collect() == "still fine")
            }
        }
    }

    /// A forged log entry whose offset is near `Int.max`, read with the largest offset a client can send
    /// (`Last-Event-ID: 9223372036854775807`): a clear error, not an overflow.
    @Test func aForgedLogOffsetNearIntMaxIsAnErrorNotATrap() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis, configure: { $0.durableLog = .init(retention: .seconds(60)) }) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "forged")
                try await commands.set(keys.sentinel, to: WireProtocol.doneValue)
                _ = try await commands.send(["XADD", .string(keys.log), "9223372036854775807-5", "o", "9223372036854775802", "t", "abcdef"])
                let skip = ServerSentEvents.skipCharacters(lastEventID: "9223372036854775807", resumeAt: nil)
                #expect(skip == Int.max)
                await #expect(throws: RedisError.self) { try await context.resumeExistingStream("forged", skipCharacters: skip) }
            }
        }
    }

    @Test func foreignSentinelValuesGiveClearOutcomes() async throws {
        try await withConnections(try sharedConfiguration()) { commands, _ in
            try await withContext(.redis, configure: { $0.ackTimeout = .milliseconds(300) }) { context in
                let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "foreign")
                try await commands.set(keys.sentinel, to: "{\"not\":\"ours\"}")
                // As in TypeScript: INCR fails, so the idempotent API reports the stream done...
                guard case .alreadyDone = try await context.resumableStream("foreign", makeStream: { Writer().stream }) else {
                    Issue.record("expected .alreadyDone"); return
                }
                // ...while the explicit API sees a stream in progress whose producer never answers.
                #expect(try await context.hasExistingStream("foreign") == .inProgress)
                guard case .producerUnreachable = try await context.resumeExistingStream("foreign") else {
                    Issue.record("expected .producerUnreachable"); return
                }
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func unusualStreamIDsWork(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            for id in ["a:b:c", "*", "with space", "line\nbreak", "emoji 😀", String(repeating: "k", count: 10_000)] {
                let writer = Writer()
                let producer = try await context.resumableStream(id, makeStream: writer.source).created()
                let follower = try await context.resumeExistingStream(id).resumed()
                writer.write("for \(id.prefix(10))")
                writer.close()
                #expect(try await producer.collect() == "for \(id.prefix(10))")
                #expect(try await follower.collect() == "for \(id.prefix(10))")
            }
        }
    }

    @Test func fiftyMegabyteStreamReplaysByteExact() async throws {
        // This is about bytes, not timing: a sanitizer build takes seconds to cut 50 MB into its replay, and
        // the replay arrives faster than a debug build's reader takes it.
        try await withContext(
            .redis,
            configure: {
                $0.ackTimeout = .seconds(30)
                $0.followerBacklogLimit = nil
            }
        ) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("big", makeStream: writer.source).created()
            var own = producer.makeAsyncIterator()
            let block = String(repeating: "0123456789abcdef", count: 4096) + "é😀"  // 64 KiB and a bit, not ASCII at the edge
            var expected = ""
            expected.reserveCapacity(51 << 20)
            while expected.utf8.count < 50 << 20 {
                writer.write(block)
                expected += block
                _ = try await own.next()
            }
            let follower = try await context.resumeExistingStream("big").resumed()
            writer.close()
            let received = try await follower.collect()
            #expect(received.utf8.count == expected.utf8.count)
            let exact = received == expected  // not in the expectation: a failure would print 50 MB
            #expect(exact)
        }
    }
}
