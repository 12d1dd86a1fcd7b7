/// What a follower makes of each message on its listener channel, as a value: plain text from a TypeScript
/// producer, or ``ChunkFrame``s from a Swift one, which it puts in order by offset.
///
/// The producer's first message (the acknowledgement) decides: a frame of this stream means a Swift producer
/// answered the request for frames, anything else a producer that sends plain text, as TypeScript does. With
/// frames, the follower knows the offset of every character it has: it drops what it already has (a re-send),
/// drops a frame that starts past it (a publish was lost: the producer knows, and sends that text again),
/// checks the end frame's length, and ignores anything that is not a frame of its own stream (another stream's
/// producer made to publish here by a forged request). The first frame also says which life of the stream id
/// (``StreamGeneration``) the follower reads: a frame of another one (the id was started anew, and its new
/// producer answered a recovery) ends the follower with an error, never with a spliced text.
struct FrameSequencer {
    enum Mode: Equatable {
        /// No message yet.
        case undecided
        /// A producer that sends plain text and the DONE message.
        case plain
        /// A producer that sends frames.
        case framed
    }

    enum Outcome: Equatable {
        /// Give this text to the reader (it may be empty: an empty acknowledgement).
        case deliver(String)
        /// The stream ended, with every character delivered; as the end frame says (`nil`: the DONE message of
        /// a plain-text producer, which does not say).
        case end(StreamEnding?)
        /// A frame past the offset, dropped: text from `missingFrom` on was lost, and the producer's re-send
        /// should follow on this channel.
        case ahead(missingFrom: Int)
        /// The end came, but text from `missingFrom` on never did: ask the producer again from there.
        case incomplete(missingFrom: Int)
        /// Nothing to do: a duplicate, or a message that is not for this follower.
        case ignore
        /// A frame of this stream id from another generation than the one the follower reads: the id was
        /// started anew, and the rest of the follower's stream is nowhere to be had.
        case otherGeneration
    }

    private let identity: StreamIdentity
    private(set) var mode = Mode.undecided
    /// The offset in the stream (UTF-16 code units) of the next character the reader gets; known with frames.
    private(set) var nextOffset: Int?
    /// The offset of the first frame, where the producer's reply started; known with frames.
    private(set) var startOffset: Int?
    /// The life of the stream id the follower reads, from its first frame.
    private(set) var generation: StreamGeneration?

    init(identity: StreamIdentity) {
        self.identity = identity
    }

    /// A message arrived on the listener channel.
    mutating func receive(_ message: String) -> Outcome {
        if mode == .undecided {
            if let frame = ChunkFrame.parse(message), frame.identity == identity {
                mode = .framed
                nextOffset = frame.offset
                startOffset = frame.offset
                generation = frame.generation
            } else {
                mode = .plain
            }
        }
        guard mode == .framed, let next = nextOffset else {
            return message == WireProtocol.doneMessage ? .end(nil) : .deliver(message)
        }
        guard let frame = ChunkFrame.parse(message), frame.identity == identity else { return .ignore }
        guard frame.generation == generation else { return .otherGeneration }
        switch frame.kind {
        case .end(let ending):
            return frame.offset > next ? .incomplete(missingFrom: next) : .end(ending)
        case .text(let text):
            if frame.offset > next { return .ahead(missingFrom: next) }
            let end = frame.offset + text.utf16.count
            guard end > next || (end == next && frame.offset == next) else { return .ignore }
            nextOffset = end
            // A re-send overlaps what the reader has: only the rest (offsets fall on scalar boundaries).
            return .deliver(frame.offset == next ? text : text.jsSlice(from: next - frame.offset))
        }
    }
}
