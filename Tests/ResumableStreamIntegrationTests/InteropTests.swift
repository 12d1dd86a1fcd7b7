import Foundation
import RedisBridge
import RedisTestSupport
import Testing

@testable import ResumableStream

/// The TypeScript side spoken by hand on raw connections: a Swift producer must answer a TypeScript consumer
/// byte for byte, and a Swift consumer must follow a TypeScript producer.
@Suite("Interoperability with the TypeScript package, on the wire", .timeLimit(.minutes(1)))
struct InteropTests {
    /// Raw connections and the names of one stream under a fresh prefix.
    struct Wire {
        let prefix = testPrefix()
        let id: String
        let commands: RedisCommandConnection
        let subscriber: RedisSubscriberConnection

        var sentinel: String { "\(prefix):rs:sentinel:\(id)" }
        var requests: String { "\(prefix):rs:request:\(id)" }
        func chunks(_ listener: String) -> String { "\(prefix):rs:chunk:\(listener)" }
    }

    func withWire(
        id: String = "chat:42 ✓", keepingText: Bool = false, _ body: (Wire, ResumableStreamContext) async throws -> Void
    ) async throws {
        try await withConnections(try sharedConfiguration()) { commands, subscriber in
            let wire = Wire(id: id, commands: commands, subscriber: subscriber)
            // Keeping the text (retention and a durable log) changes nothing a TypeScript peer sees.
            let configuration = ResumableStreamConfiguration(
                keyPrefix: wire.prefix, finishedStreamRetention: keepingText ? .seconds(60) : nil,
                durableLog: keepingText ? .init(retention: .seconds(60)) : nil)
            let context = ResumableStreamContext(redis: try sharedConfiguration(), configuration: configuration)
            do {
                try await body(wire, context)
                await context.shutdown(gracePeriod: .seconds(5))
            } catch {
                await context.shutdown(gracePeriod: .seconds(5))
                throw error
            }
        }
    }

    @Test(arguments: [false, true])
    func swiftProducerAnswersATypeScriptConsumerByteForByte(keepingText: Bool) async throws {
        try await withWire(keepingText: keepingText) { wire, context in
            let writer = Writer()
            let producer = try await context.resumableStream(wire.id, makeStream: writer.source).created()
            var own = producer.makeAsyncIterator()
            // One chunk at a time: a reader that is behind takes two writes as one piece.
            writer.write("héllo ")
            #expect(try await own.next() == "héllo ")
            writer.write("wörld 🌍")
            #expect(try await own.next() == "wörld 🌍")

            let listener = "714b144b-9c17-47f7-a03c-f373ae4fee6a"
            let subscription = try await wire.subscriber.subscribe(to: wire.chunks(listener))
            var messages = subscription.makeAsyncIterator()
            let request = #"{"listenerId":"714b144b-9c17-47f7-a03c-f373ae4fee6a","skipCharacters":3}"#
            #expect(try await wire.commands.publish(request, to: wire.requests) == 1)
            #expect(await messages.next() == .message(Array("lo wörld 🌍".utf8)))
            writer.write("!")
            #expect(await messages.next() == .message(Array("!".utf8)))
            writer.close()
            #expect(await messages.next() == .message(Array(WireProtocol.doneMessage.utf8)))
            #expect(try await wire.commands.get(wire.sentinel) == "DONE")
            let ttl = try #require(try await wire.commands.send(["TTL", .string(wire.sentinel)]).int)
            #expect((86_390...86_400).contains(ttl))
        }
    }

    @Test func swiftProducerAcknowledgesWithAnEmptyReplayAndFinishedStreamsWithDone() async throws {
        try await withWire { wire, context in
            let writer = Writer()
            let producer = try await context.resumableStream(wire.id, makeStream: writer.source).created()
            let subscription = try await wire.subscriber.subscribe(to: wire.chunks("late"))
            var messages = subscription.makeAsyncIterator()
            #expect(try await wire.commands.publish(#"{"listenerId":"late","skipCharacters":5}"#, to: wire.requests) == 1)
            #expect(await messages.next() == .message([]))
            writer.close()
            #expect(try await producer.collect() == "")
            #expect(await messages.next() == .message(Array(WireProtocol.doneMessage.utf8)))
        }
    }

    @Test func swiftConsumerFollowsATypeScriptProducer() async throws {
        try await withWire { wire, context in
            // A TypeScript producer: INCR (no expiry), then SUBSCRIBE to the request channel.
            #expect(try await wire.commands.incr(wire.sentinel) == 1)
            let requests = try await wire.subscriber.subscribe(to: wire.requests)
            var incoming = requests.makeAsyncIterator()
            async let consumer = context.resumeExistingStream(wire.id, skipCharacters: 5)

            guard case .message(let bytes) = await incoming.next() else { Issue.record("no request"); return }
            let request = String(decoding: bytes, as: UTF8.self)
            // The TypeScript consumer's fields and order, plus the request for frames, which a TypeScript
            // producer ignores: it answers in plain text, and the consumer takes that.
            #expect(
                request.wholeMatch(
                    of:
                        #/\{"listenerId":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","skipCharacters":5,"framing":2,"window":65536\}/#
                ) != nil, "\(request)")
            let listener = String(request.dropFirst(15).prefix(36))
            #expect(try await wire.commands.publish("replay ", to: wire.chunks(listener)) == 1)
            _ = try await wire.commands.publish("live 中文", to: wire.chunks(listener))
            _ = try await wire.commands.publish(WireProtocol.doneMessage, to: wire.chunks(listener))
            let stream = try await consumer.resumed()
            #expect(try await stream.collect() == "replay live 中文")
        }
    }

    @Test func swiftConsumerOmitsSkipCharactersWhenNotGiven() async throws {
        try await withWire { wire, context in
            #expect(try await wire.commands.incr(wire.sentinel) == 1)
            let requests = try await wire.subscriber.subscribe(to: wire.requests)
            var incoming = requests.makeAsyncIterator()
            async let consumer = context.resumableStream(wire.id) { AsyncStream<String> { $0.finish() } }
            guard case .message(let bytes) = await incoming.next() else { Issue.record("no request"); return }
            let request = String(decoding: bytes, as: UTF8.self)
            #expect(request.wholeMatch(of: #/\{"listenerId":"[0-9a-f-]{36}","framing":2,"window":65536\}/#) != nil, "\(request)")
            let listener = String(request.dropFirst(15).prefix(36))
            _ = try await wire.commands.publish("", to: wire.chunks(listener))
            _ = try await wire.commands.publish(WireProtocol.doneMessage, to: wire.chunks(listener))
            #expect(try await consumer.resumed().collect() == "")
            // The consumer went through INCR, as TypeScript counts callers.
            #expect(try await wire.commands.get(wire.sentinel) == "2")
        }
    }

    @Test func typeScriptDoneSentinelMeansAlreadyDone() async throws {
        try await withWire { wire, context in
            try await wire.commands.set(wire.sentinel, to: "DONE", expiresIn: .seconds(60))
            guard case .alreadyDone = try await context.resumableStream(wire.id, makeStream: { AsyncStream<String> { $0.finish() } }) else {
                Issue.record("expected .alreadyDone"); return
            }
            guard case .alreadyDone = try await context.resumeExistingStream(wire.id) else { Issue.record("expected .alreadyDone"); return }
            #expect(try await context.hasExistingStream(wire.id) == .done)
        }
    }

    @Test func chunkEqualToTheDoneMessageEndsNoConsumerEarly() async throws {
        try await withWire { wire, context in
            let writer = Writer()
            let producer = try await context.resumableStream(wire.id, makeStream: writer.source).created()
            let follower = try await context.resumableStream(wire.id, makeStream: writer.source).resumed()
            let subscription = try await wire.subscriber.subscribe(to: wire.chunks("ts"))
            _ = try await wire.commands.publish(#"{"listenerId":"ts"}"#, to: wire.requests)
            writer.write("before ")
            writer.write(WireProtocol.doneMessage)
            writer.write(" after")
            writer.close()
            let expected = "before " + WireProtocol.doneMessage + " after"
            #expect(try await producer.collect() == expected)
            #expect(try await follower.collect() == expected)
            // A TypeScript consumer concatenates messages until the exact DONE message: it gets everything too.
            var received = ""
            for await event in subscription {
                guard case .message(let bytes) = event else { continue }
                let text = String(decoding: bytes, as: UTF8.self)
                if text == WireProtocol.doneMessage { break }
                received += text
            }
            #expect(received == expected)
        }
    }

    @Test func skipCharactersCountsUTF16AcrossProducerAndConsumer() async throws {
        try await withWire { wire, context in
            let writer = Writer()
            let producer = try await context.resumableStream(wire.id, makeStream: writer.source).created()
            var own = producer.makeAsyncIterator()
            writer.write("👩‍💻 naïve 日本語 ")  // JS length 15
            _ = try await own.next()
            for (skip, expected) in [(5, " naïve 日本語 "), (6, "naïve 日本語 "), (-4, "日本語 "), (15, ""), (99, "")] {
                let follower = try await context.resumeExistingStream(wire.id, skipCharacters: skip).resumed()
                var chunks = follower.makeAsyncIterator()
                if !expected.isEmpty { #expect(try await chunks.next() == expected, "skip \(skip)") }
                _ = chunks
            }
            writer.close()
        }
    }
}
