import RedisBridge
import Testing

@testable import ResumableStream

/// The parts of the wire protocol that need no server: JavaScript `slice` in UTF-16, the request format.
@Suite("Wire protocol units", .timeLimit(.minutes(1)))
struct WireProtocolTests {
    @Test func doneMessageIsTheTypeScriptBytes() {
        let hex = Array(WireProtocol.doneMessage.utf8).map { String(format: "%02x", $0) }.joined()
        #expect(hex == "0a0a0a444f4e455f53454e54494e454c5f686173646661737564667967653337342524255e2445445341545254594674796472797274650a")
        #expect(WireProtocol.doneMessage.utf16.count == 56)
    }

    @Test func sliceCountsUTF16CodeUnitsLikeJavaScript() {
        let text = "a😀b中文"  // JS length 6: a, two surrogates, b, 中, 文
        #expect(text.jsSlice(from: 0) == text)
        #expect(text.jsSlice(from: 1) == "😀b中文")
        #expect(text.jsSlice(from: 3) == "b中文")
        #expect(text.jsSlice(from: 5) == "文")
        #expect(text.jsSlice(from: 6) == "")
        #expect(text.jsSlice(from: 1_000_000) == "")
        #expect(text.jsSlice(from: -1) == "文")
        #expect(text.jsSlice(from: -4) == "b中文".replacingOccurrences(of: "b", with: "\u{FFFD}b"))
        #expect(text.jsSlice(from: -100) == text)
        #expect(text.jsSlice(from: Int.min) == text)
        #expect(text.jsSlice(from: Int.max) == "")
    }

    @Test func sliceInsideASurrogatePairGivesTheReplacementCharacterAsNodeWrites() {
        // Node: Buffer.from("a😀b".slice(2)) is EF BF BD 62.
        #expect(Array("a😀b".jsSlice(from: 2).utf8) == [0xEF, 0xBF, 0xBD, 0x62])
    }

    @Test func resumeRequestsAreTheTypeScriptBytes() {
        let id = "714b144b-9c17-47f7-a03c-f373ae4fee6a"
        #expect(RequestMessage.encodeResume(listenerID: id, skipCharacters: nil) == #"{"listenerId":"714b144b-9c17-47f7-a03c-f373ae4fee6a"}"#)
        #expect(
            RequestMessage.encodeResume(listenerID: id, skipCharacters: 0)
                == #"{"listenerId":"714b144b-9c17-47f7-a03c-f373ae4fee6a","skipCharacters":0}"#)
        #expect(
            RequestMessage.encodeResume(listenerID: id, skipCharacters: -3)
                == #"{"listenerId":"714b144b-9c17-47f7-a03c-f373ae4fee6a","skipCharacters":-3}"#)
    }

    @Test func requestsParseAsATypeScriptProducerReadsThem() {
        #expect(RequestMessage.parse(#"{"listenerId":"L"}"#) == .resume(listenerID: "L", skipCharacters: 0))
        #expect(RequestMessage.parse(#"{"listenerId":"L","skipCharacters":null}"#) == .resume(listenerID: "L", skipCharacters: 0))
        #expect(RequestMessage.parse(#"{"listenerId":"L","skipCharacters":7}"#) == .resume(listenerID: "L", skipCharacters: 7))
        #expect(RequestMessage.parse(#"{"listenerId":"L","skipCharacters":2.7}"#) == .resume(listenerID: "L", skipCharacters: 2))
        #expect(RequestMessage.parse(#"{"listenerId":"L","skipCharacters":-2.7}"#) == .resume(listenerID: "L", skipCharacters: -2))
        #expect(RequestMessage.parse(#"{"listenerId":"L","skipCharacters":1e300}"#) == .resume(listenerID: "L", skipCharacters: Int.max))
        #expect(RequestMessage.parse(#"{"listenerId":"L","skipCharacters":"5"}"#) == .resume(listenerID: "L", skipCharacters: 0))
        #expect(RequestMessage.parse(#"{"skipCharacters":1,"listenerId":"L","extra":{"a":[1,2]}}"#) == .resume(listenerID: "L", skipCharacters: 1))
        #expect(RequestMessage.parse(#"{"stop":true}"#) == .stop(target: nil))
        #expect(RequestMessage.parse(#"{"stop":true,"generation":"00000000000000ff"}"#) == .stop(target: StreamGeneration(value: 255)))
        #expect(RequestMessage.parse(#"{"stop":true,"generation":"forged"}"#) == nil, "a stop for no generation stops nothing")
        #expect(RequestMessage.parse(#"{"generation":"00000000000000ff"}"#) == .generation(StreamGeneration(value: 255)))
    }

    @Test func malformedRequestsAreIgnored() {
        for text in [
            "", "null", "[]", "42", "{", #"{"listenerId":5}"#, #"{"listenerId":""}"#, "\u{FFFD}\u{0}",
            String(repeating: "[", count: 100_000), #"{"listenerId":"\#(String(repeating: "x", count: 20_000))"}"#,
        ] {
            #expect(RequestMessage.parse(text) == nil, "accepted \(text.prefix(40))")
        }
    }

    @Test func chunkMessagesAreBoundedAndNeverTheDoneMessage() {
        #expect("abcdefghij".chunkMessages(maximum: 4) == ["abcd", "efgh", "ij"])
        #expect("abc".chunkMessages(maximum: 4) == ["abc"])
        // A surrogate pair is never cut.
        #expect("ab😀cd".chunkMessages(maximum: 3) == ["ab", "😀c", "d"])
        let done = WireProtocol.doneMessage.chunkMessages(maximum: 64 * 1024)
        #expect(done.count == 2 && done.joined() == WireProtocol.doneMessage)
        #expect(!done.contains(WireProtocol.doneMessage))
        // The last piece of a longer chunk, or any piece, may equal it too.
        let trailing = ("x" + WireProtocol.doneMessage).chunkMessages(maximum: 1)
        #expect(trailing.joined() == "x" + WireProtocol.doneMessage)
        let cut = ("abc" + WireProtocol.doneMessage).chunkMessages(maximum: 3)
        #expect(cut.joined() == "abc" + WireProtocol.doneMessage && !cut.contains(WireProtocol.doneMessage))
        let split = (String(repeating: "y", count: 56) + WireProtocol.doneMessage).chunkMessages(maximum: 56)
        #expect(split.joined().hasSuffix(WireProtocol.doneMessage) && !split.contains(WireProtocol.doneMessage))
    }

    /// `replayPieceSize` and `batchCharacters` are public: sizes of 0, below, or 1 with an emoji in the text
    /// still make progress (two code units a piece at least).
    @Test func pieceSizesBelowTwoStillMakeProgress() {
        for maximum in [Int.min, -1, 0, 1] {
            #expect("a😀b😀".chunkMessages(maximum: maximum) == ["a", "😀", "b", "😀"], "\(maximum)")
            #expect("😀😀".chunkMessages(maximum: maximum) == ["😀", "😀"], "\(maximum)")
        }
    }

    /// A TypeScript consumer that resumes so that its replay is exactly the DONE message gets the text, and
    /// the stream's real end after it.
    @Test(arguments: Backend.allCases)
    func aReplayCutToTheDoneMessageIsNotTakenForTheEnd(_ backend: Backend) async throws {
        try await withContext(backend) { context in
            let writer = Writer()
            let producer = try await context.resumableStream("cut", makeStream: writer.source).created()
            var own = producer.makeAsyncIterator()
            writer.write("prefix" + WireProtocol.doneMessage)
            _ = try await own.next()
            let keys = StreamKeys(keyPrefix: context.configuration.keyPrefix, streamID: "cut")
            let channel = keys.chunks(for: "ts-consumer")
            let messages = try await context.subscriber.textSubscription(to: channel)
            let request = RequestMessage.encodeResume(listenerID: "ts-consumer", skipCharacters: 6)
            #expect(try await context.publisher.publishMessage(request, to: keys.requests) == 1)
            writer.write("!")
            writer.close()
            var received: [String] = []
            for await case .message(let text) in messages {
                received.append(text)
                if text == WireProtocol.doneMessage { break }
            }
            #expect(received.dropLast().joined() == WireProtocol.doneMessage + "!")
        }
    }
}
