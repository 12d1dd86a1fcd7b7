import Testing

@testable import ResumableStream

/// Frames for Swift followers, and how a follower orders them, without a backend.
@Suite("Chunk frames and their sequencing", .timeLimit(.minutes(1)))
struct FrameTests {
    private let keys = StreamKeys(keyPrefix: "p", streamID: "s")
    private var identity: StreamIdentity { StreamIdentity(keys) }
    private let generation = StreamGeneration(value: 0x0123_4567_89ab_cdef)

    private func text(_ text: String, at offset: Int, identity: StreamIdentity? = nil, generation: StreamGeneration? = nil) -> String {
        ChunkFrame.encodeText(text, at: offset, prefix: ChunkFrame.textPrefix(identity ?? self.identity, generation ?? self.generation))
    }

    private func end(_ length: Int, generation: StreamGeneration? = nil, ending: StreamEnding = .completed) -> String {
        ChunkFrame.encodeEnd(length: length, identity: identity, generation: generation ?? self.generation, ending: ending)
    }

    @Test func framesRoundTripAndCarryTheStreamsIdentityAndGeneration() {
        #expect(identity.hex.count == 8)
        #expect(StreamIdentity(StreamKeys(keyPrefix: "q", streamID: "s")) != identity, "the key prefix counts")
        #expect(
            ChunkFrame.parse(text("héllo\n😀:x", at: 42))
                == ChunkFrame(identity: identity, generation: generation, offset: 42, kind: .text("héllo\n😀:x")))
        #expect(ChunkFrame.parse(text("", at: 0)) == ChunkFrame(identity: identity, generation: generation, offset: 0, kind: .text("")))
        #expect(ChunkFrame.parse(end(7)) == ChunkFrame(identity: identity, generation: generation, offset: 7, kind: .end(.completed)))
        #expect(text("abc", at: 3) == "\u{1}F\(identity.hex)0123456789abcdef3:abc")
        #expect(StreamGeneration(hex: generation.hex) == generation)
        // The end says how the stream ended, unless it completed.
        for ending in [StreamEnding.stopped, .failed("the model: \"overloaded\"")] {
            #expect(ChunkFrame.parse(end(3, ending: ending)) == ChunkFrame(identity: identity, generation: generation, offset: 3, kind: .end(ending)))
        }
        #expect(end(3) == "\u{1}E\(identity.hex)0123456789abcdef3:")
        #expect(ChunkFrame.parse(end(3) + "not an ending") == nil)
        #expect(ChunkFrame.parse(end(3) + StreamEnding.completed.json) == nil, "completed is written as nothing")
        for malformed in ["0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "+123456789abcdef", ""] {
            #expect(StreamGeneration(hex: malformed) == nil, "\(malformed)")
        }
    }

    @Test func plainTextAndMalformedFramesAreNotFrames() {
        let hex = identity.hex + generation.hex
        for message in [
            "", "plain text", WireProtocol.doneMessage, "\u{1}", "\u{1}X\(hex)1:a", "\u{1}F\(hex):a",
            "\u{1}F\(hex)12a", "\u{1}F\(hex.uppercased())1:a", "\u{1}Fzzzzzzzz\(generation.hex)1:a", "\u{1}F\(identity.hex)1:a", "\u{1}F\(hex)-1:a",
            "\u{1}F\(hex)1234567890123456789:a", "\u{1}E\(hex)5:trailing", "\u{1}F\(hex.prefix(4))",
        ] {
            #expect(ChunkFrame.parse(message) == nil, "\(message.debugDescription)")
        }
    }

    @Test func resumeRequestsAskForFramesWithAFieldTypeScriptIgnores() {
        let windowed = FrameRequest(window: 4096)
        #expect(
            RequestMessage.encodeResume(listenerID: "L", skipCharacters: 3, framing: FrameRequest())
                == #"{"listenerId":"L","skipCharacters":3,"framing":2}"#)
        #expect(
            RequestMessage.encodeResume(listenerID: "L", skipCharacters: nil, framing: windowed) == #"{"listenerId":"L","framing":2,"window":4096}"#)
        #expect(RequestMessage.parse(#"{"listenerId":"L","framing":2}"#) == .resume(listenerID: "L", skipCharacters: 0, framing: FrameRequest()))
        #expect(
            RequestMessage.parse(#"{"listenerId":"L","framing":2,"window":4096}"#) == .resume(listenerID: "L", skipCharacters: 0, framing: windowed))
        // Frames without a generation (an earlier version's followers) are answered in plain text.
        #expect(RequestMessage.parse(#"{"listenerId":"L","framing":1,"window":4096}"#) == .resume(listenerID: "L", skipCharacters: 0))
        #expect(RequestMessage.parse(#"{"listenerId":"L","framing":"2"}"#) == .resume(listenerID: "L", skipCharacters: 0))
    }

    @Test func hostileWindowsAreClampedSoThatNoneCostsAMessagePerCharacterOrOverflows() {
        for (window, clamped) in [("0", 1024), ("-5", 1024), ("1e300", 1 << 30), ("8192.9", 8192)] {
            let request = #"{"listenerId":"L","framing":2,"window":"# + window + "}"
            #expect(RequestMessage.parse(request) == .resume(listenerID: "L", skipCharacters: 0, framing: FrameRequest(window: clamped)))
        }
        #expect(
            RequestMessage.parse(#"{"listenerId":"L","framing":2,"window":"big"}"#)
                == .resume(listenerID: "L", skipCharacters: 0, framing: FrameRequest())
        )
    }

    @Test func confirmationsAreNeverTakenForResumeRequests() {
        let confirmation = RequestMessage.encodeReceived(listenerID: "L", offset: 65536)
        #expect(confirmation == #"{"received":65536,"listener":"L"}"#)
        #expect(RequestMessage.parse(confirmation) == .received(listenerID: "L", offset: 65536))
        #expect(RequestMessage.parse(#"{"received":-3,"listener":"L"}"#) == .received(listenerID: "L", offset: 0))
        #expect(RequestMessage.parse(#"{"received":1,"listener":""}"#) == nil)
        #expect(RequestMessage.parse(#"{"received":"1","listener":"L"}"#) == nil)
        // With a listenerId it is a resume request, as TypeScript reads it.
        #expect(RequestMessage.parse(#"{"received":1,"listener":"L","listenerId":"M"}"#) == .resume(listenerID: "M", skipCharacters: 0))
    }

    @Test func aTypeScriptProducersPlainTextIsRelayedAsItIs() {
        var sequencer = FrameSequencer(identity: identity)
        #expect(sequencer.receive("replay") == .deliver("replay"))
        #expect(sequencer.mode == .plain && sequencer.nextOffset == nil)
        #expect(sequencer.receive(text("looks like a frame", at: 6)) == .deliver(text("looks like a frame", at: 6)))
        #expect(sequencer.receive(WireProtocol.doneMessage) == .end(nil))
    }

    @Test func framesAreDeliveredInOrderFromTheReplaysOffset() {
        var sequencer = FrameSequencer(identity: identity)
        #expect(sequencer.receive(text("", at: 5)) == .deliver(""))
        #expect(sequencer.mode == .framed && sequencer.nextOffset == 5)
        #expect(sequencer.receive(text("ab", at: 5)) == .deliver("ab"))
        #expect(sequencer.receive(text("😀", at: 7)) == .deliver("😀"))
        #expect(sequencer.nextOffset == 9)
        #expect(sequencer.receive(end(9)) == .end(.completed))
    }

    @Test func duplicatesAreDroppedAndAnOverlappingResendGivesOnlyWhatIsNew() {
        var sequencer = FrameSequencer(identity: identity)
        _ = sequencer.receive(text("abc", at: 0))
        #expect(sequencer.receive(text("abc", at: 0)) == .ignore)
        #expect(sequencer.receive(text("bc", at: 1)) == .ignore)
        #expect(sequencer.receive(text("", at: 3)) == .deliver(""))  // a recovery's empty acknowledgement
        #expect(sequencer.receive(text("c😀d", at: 2)) == .deliver("😀d"))
        #expect(sequencer.nextOffset == 6)
    }

    @Test func aFrameOrAnEndPastTheOffsetSaysWhatIsMissing() {
        var sequencer = FrameSequencer(identity: identity)
        _ = sequencer.receive(text("abc", at: 0))
        #expect(sequencer.receive(text("f", at: 5)) == .ahead(missingFrom: 3))
        #expect(sequencer.receive(end(4)) == .incomplete(missingFrom: 3))
        #expect(sequencer.nextOffset == 3)
        #expect(sequencer.receive(text("de", at: 3)) == .deliver("de"))
    }

    @Test func anotherStreamsFramesAndPlainTextAreIgnoredOnceFramed() {
        let other = StreamIdentity(StreamKeys(keyPrefix: "p", streamID: "other"))
        var sequencer = FrameSequencer(identity: identity)
        #expect(sequencer.receive(text("mine", at: 0)) == .deliver("mine"))
        #expect(sequencer.receive(text("injected", at: 4, identity: other)) == .ignore)
        #expect(sequencer.receive("plain injected") == .ignore)
        #expect(sequencer.receive(WireProtocol.doneMessage) == .ignore)
        #expect(sequencer.receive(text(" too", at: 4)) == .deliver(" too"))

        // Before the first message, another stream's frame is no acknowledgement of frames.
        var fresh = FrameSequencer(identity: identity)
        #expect(fresh.receive(text("x", at: 0, identity: other)) == .deliver(text("x", at: 0, identity: other)))
        #expect(fresh.mode == .plain)
    }

    /// A frame of another life of the stream id (its new producer answered a recovery) ends the follower: it
    /// never splices the new generation's text in at its offset, nor takes the new one's end for its own.
    @Test func anotherGenerationsFramesEndTheFollowerInsteadOfSplicing() {
        let next = StreamGeneration(value: 42)
        var sequencer = FrameSequencer(identity: identity)
        #expect(sequencer.receive(text("first life", at: 0)) == .deliver("first life"))
        #expect(sequencer.generation == generation)
        #expect(sequencer.receive(text("second life, longer", at: 0, generation: next)) == .otherGeneration)
        #expect(sequencer.receive(text("more", at: 10, generation: next)) == .otherGeneration)
        #expect(sequencer.receive(end(10, generation: next)) == .otherGeneration)
        #expect(sequencer.receive(end(10)) == .end(.completed))
    }
}
