/// The text of a resumable stream, chunk by chunk. Iterate it once; it ends when the producer's source
/// ends, and throws if the source failed or (for followers) the producer became unreachable or the reader fell
/// too far behind (``ResumableStreamError/followerTooSlow(_:)``).
///
/// A reader that keeps up gets the chunks as they were produced; one that fell behind gets what accumulated
/// meanwhile as one chunk (the same bytes, in the same order).
///
/// Cancelling the task that reads it, or dropping it, never stops the producer. A follower's stream that is
/// dropped (with every copy and iterator of it) before its end stops following: it unsubscribes, as a
/// cancelled reader does.
public struct ResumableTextStream: AsyncSequence, Sendable {
    /// A chunk of text.
    public typealias Element = String
    /// What iteration can throw.
    public typealias Failure = any Error
    private let reader: Reader
    var chunks: TextQueue { reader.chunks }
    /// Where the first chunk starts in the whole stream, in UTF-16 code units, when that is known: 0 for a
    /// producer's own stream; the producer's answer for a follower of a Swift producer and for the rest of a
    /// finished stream (a `skipCharacters` past the end starts at the end). `nil` for a follower of a
    /// TypeScript producer, which does not say: it starts at the `skipCharacters` asked for, unless that is
    /// past the end.
    public let startOffset: Int?

    init(chunks: TextQueue, startOffset: Int?) {
        reader = Reader(chunks: chunks)
        self.startOffset = startOffset
    }

    /// A stream of `text` that is all there (if any), then ends with `error`, or cleanly.
    init(of text: String, startOffset: Int?, endingWith error: (any Error)?) {
        self.init(chunks: TextQueue(), startOffset: startOffset)
        chunks.push(text)
        chunks.finish(throwing: error)
    }

    /// A stream of `text` that is all there (if any), then ends as `ending` says.
    init(of text: String, startOffset: Int?, ending: StreamEnding) {
        self.init(chunks: TextQueue(), startOffset: startOffset)
        chunks.push(text)
        chunks.finish(ending)
    }

    /// Whether the stream ended because it was stopped (``ResumableStreamContext/stop(_:)``), not because its
    /// source ended: known once iteration returned `nil`. Always `false` for a stream of a TypeScript producer,
    /// which does not say.
    public var isStopped: Bool { chunks.isStopped }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader)
    }

    /// Reads the whole stream into one string.
    public func collect() async throws -> String {
        var text = ""
        for try await chunk in self { text += chunk }
        return text
    }

    /// Iterates the chunks.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let reader: Reader

        /// The next chunk, or `nil` at the end of the stream.
        public mutating func next() async throws -> String? {
            try await next(isolation: nil)
        }

        /// The next chunk, or `nil` at the end of the stream, without leaving the caller's isolation.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> String? {
            try await reader.chunks.next(isolation: actor)
        }
    }

    /// The reader's side of the text, shared by the stream's copies and iterators: when the last of them is
    /// gone, nobody reads any more, and the writer hears it as it hears of a cancelled reader.
    fileprivate final class Reader: Sendable {
        let chunks: TextQueue

        init(chunks: TextQueue) {
            self.chunks = chunks
        }

        deinit {
            chunks.readerLeft()
        }
    }
}
