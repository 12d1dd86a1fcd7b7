import Foundation
import ResumableStreamAISDK
import Testing

/// The encoder's bytes against golden strings: what the AI SDK's own server writes for the same chunks.
@Suite struct EncoderTests {
    private func events<Source: AsyncSequence>(_ encoder: UIMessageStreamEncoder<Source>) async throws -> [String] {
        var events: [String] = []
        for try await element in encoder { events.append(element) }
        return events
    }

    @Test func aTextAnswer() async throws {
        let deltas = ["Hel", "lo"].async
        let elements = try await events(UIMessageStreamEncoder(textDeltas: deltas, messageID: "msg-1"))
        #expect(
            elements == [
                "data: {\"type\":\"start\",\"messageId\":\"msg-1\"}\n\ndata: {\"type\":\"start-step\"}\n\n",
                "data: {\"type\":\"text-start\",\"id\":\"text-1\"}\n\ndata: {\"type\":\"text-delta\",\"id\":\"text-1\",\"delta\":\"Hel\"}\n\n",
                "data: {\"type\":\"text-delta\",\"id\":\"text-1\",\"delta\":\"lo\"}\n\n",
                "data: {\"type\":\"text-end\",\"id\":\"text-1\"}\n\ndata: {\"type\":\"finish-step\"}\n\ndata: {\"type\":\"finish\"}\n\n"
                    + "data: [DONE]\n\n",
            ])
    }

    @Test func anEmptyAnswerWithoutMessageIDSkipsEmptyDeltas() async throws {
        let text = try await events(UIMessageStreamEncoder(textDeltas: ["", ""].async, messageID: nil)).joined()
        #expect(
            text == """
                data: {"type":"start"}

                data: {"type":"start-step"}

                data: {"type":"finish-step"}

                data: {"type":"finish"}

                data: [DONE]


                """)
    }

    @Test func escapesAsJSONStringifyAndSeparatorsToo() async throws {
        let delta = "a\"b\\c\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}\u{2028}\u{2029}é😀/</script>"
        let text = try await events(UIMessageStreamEncoder(textDeltas: [delta].async, messageID: "m\"1")).joined()
        #expect(text.contains(#"data: {"type":"start","messageId":"m\"1"}"#))
        #expect(
            text.contains(
                #"data: {"type":"text-delta","id":"text-1","delta":"a\"b\\c\n\r\t\b\f\u0001\u001f"# + "\u{7F}"
                    + #"\u2028\u2029é😀/</script>"}"# + "\n\n"))
        // Every event is one line, and the AI SDK's JSON.parse gives the delta back.
        let parsed = ParsedUIMessageStream(text)
        #expect(parsed.text == delta)
        #expect(parsed.endsWithDone)
    }

    @Test func partsOpenAndCloseTextAndReasoning() async throws {
        let parts: [UIMessageStreamPart] = [
            .reasoningDelta("think"), .reasoningDelta(""), .textDelta("A"), .messageMetadata(["b": 1, "a": [true, nil, 1.5, "x"]]),
            .textDelta("B"), .error("bad"),
        ]
        let text = try await events(UIMessageStreamEncoder(parts: parts.async, messageID: "m")).joined()
        let expected = [
            #"{"type":"start","messageId":"m"}"#, #"{"type":"start-step"}"#,
            #"{"type":"reasoning-start","id":"reasoning-1"}"#, #"{"type":"reasoning-delta","id":"reasoning-1","delta":"think"}"#,
            #"{"type":"reasoning-end","id":"reasoning-1"}"#,
            #"{"type":"text-start","id":"text-2"}"#, #"{"type":"text-delta","id":"text-2","delta":"A"}"#, #"{"type":"text-end","id":"text-2"}"#,
            #"{"type":"message-metadata","messageMetadata":{"a":[true,null,1.5,"x"],"b":1}}"#,
            #"{"type":"text-start","id":"text-3"}"#, #"{"type":"text-delta","id":"text-3","delta":"B"}"#, #"{"type":"text-end","id":"text-3"}"#,
            #"{"type":"error","errorText":"bad"}"#, #"{"type":"finish-step"}"#, #"{"type":"finish"}"#, "[DONE]",
        ]
        #expect(text == expected.map { "data: \($0)\n\n" }.joined())
    }

    @Test func aSourceThatThrowsEndsWithAnErrorChunkAndDone() async throws {
        let text = try await events(UIMessageStreamEncoder(textDeltas: FailingDeltas(deltas: ["a"]), messageID: "m")).joined()
        let parsed = ParsedUIMessageStream(text)
        #expect(parsed.types == ["start", "start-step", "text-start", "text-delta", "error"])
        #expect(parsed.chunks.last?["errorText"] as? String == "An error occurred.")
        #expect(text.hasSuffix("data: {\"type\":\"error\",\"errorText\":\"An error occurred.\"}\n\ndata: [DONE]\n\n"))

        let custom = try await events(
            UIMessageStreamEncoder(textDeltas: FailingDeltas(deltas: []), messageID: "m", errorText: { "The model failed: \($0)" })
        ).joined()
        #expect(ParsedUIMessageStream(custom).chunks.last?["errorText"] as? String == "The model failed: ModelFailure()")
    }

    @Test func aCancelledSourcePassesItsCancellationOn() async throws {
        var iterator = UIMessageStreamEncoder(textDeltas: CancelledDeltas(), messageID: "m").makeAsyncIterator()
        _ = try await iterator.next()
        await #expect(throws: CancellationError.self) { _ = try await iterator.next() }
    }

    @Test func numbersAsJSONStringifyWritesThem() {
        let values: [(JSONValue, String)] = [
            (3, "3"), (-0.0, "0"), (1.5, "1.5"), (-2.25, "-2.25"), (1e-7, "1e-7"), (1e21, "1e+21"), (123_456_789_012, "123456789012"),
            (.number(.nan), "null"), (.number(.infinity), "null"), (["k": "v", "a": nil], #"{"a":null,"k":"v"}"#),
        ]
        for (value, text) in values { #expect(value.jsonText == text) }
    }

    @Test func theHeadersAreTheAISDKs() {
        #expect(
            UIMessageStreamHeaders.all.map { "\($0.name): \($0.value)" } == [
                "content-type: text/event-stream", "cache-control: no-cache", "connection: keep-alive", "x-vercel-ai-ui-message-stream: v1",
                "x-accel-buffering: no",
            ])
    }
}

/// A source whose second element is a cancellation.
struct CancelledDeltas: AsyncSequence, Sendable {
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }

    struct AsyncIterator: AsyncIteratorProtocol {
        mutating func next() async throws -> String? { throw CancellationError() }
    }
}

extension Array where Element: Sendable {
    /// The array as an asynchronous sequence.
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
