/// The outcome of asking for a stream: a stream to read, or why there is none. Each case maps to an HTTP
/// answer without string matching (200, 200, 422, 404, 503).
public enum ResumableStreamResult: Sendable {
    /// This call became the producer: the stream is the source's own output.
    case created(ResumableTextStream)
    /// Another producer (in this process or another) runs the stream: this follows it from the start (or
    /// from `skipCharacters`) and then live.
    case resumed(ResumableTextStream)
    /// The stream finished; its output is no longer available (TypeScript: `null`).
    case alreadyDone
    /// There is no such stream (TypeScript: `undefined`).
    case notFound
    /// The stream exists but its producer did not answer within the ack timeout: it crashed or is
    /// unreachable (TypeScript: throws "Timeout waiting for ack").
    case producerUnreachable

    /// The stream of ``created(_:)`` and ``resumed(_:)``, `nil` otherwise.
    public var stream: ResumableTextStream? {
        switch self {
        case .created(let stream), .resumed(let stream): stream
        case .alreadyDone, .notFound, .producerUnreachable: nil
        }
    }
}

/// What ``ResumableStreamContext/hasExistingStream(_:)`` finds.
public enum ResumableStreamState: Sendable, Hashable {
    /// No stream with this id (never created, or expired).
    case none
    /// A producer was started and has not finished.
    case inProgress
    /// The stream finished.
    case done
}

/// The outcome of ``ResumableStreamContext/stop(_:)``.
public enum ResumableStreamStopResult: Sendable, Hashable {
    /// A running producer received the request; it stops and its readers end cleanly.
    case stopping
    /// No producer listens (yet): the request is stored for the producer that starts within the stop
    /// request TTL.
    case stored
    /// The stream had already finished.
    case alreadyDone
}

/// Errors of resumable streams. Redis failures surface as the backend's own errors (`RedisError`).
public enum ResumableStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stream ids must not be empty.
    case emptyStreamID
    /// The producer's source failed; followers get this with the source error's description.
    case producerFailed(String)
    /// A follower's producer stopped answering mid-stream (it crashed or lost Redis) without finishing.
    case producerUnreachable
    /// The producer buffered more than ``ResumableStreamConfiguration/maxBufferedCharacters``.
    case bufferLimitExceeded(Int)
    /// A follower's subscription was interrupted (Redis reconnect) and chunks may have been lost.
    case interrupted
    /// The context is shutting down and accepts no new streams.
    case shuttingDown
    /// A follower's reader fell more than this many bytes behind
    /// (``ResumableStreamConfiguration/followerBacklogLimit``) and was dropped after the chunks it already had.
    /// Nothing is lost: resume with `skipCharacters` set to the UTF-16 code units read so far.
    case followerTooSlow(Int)

    public var description: String {
        switch self {
        case .emptyStreamID: "the stream id is empty"
        case .producerFailed(let message): "the stream's producer failed: \(message)"
        case .producerUnreachable: "the stream's producer stopped answering before the stream finished"
        case .bufferLimitExceeded(let limit): "the stream exceeded its buffer limit of \(limit) characters"
        case .interrupted: "the connection to Redis was interrupted and chunks may have been lost"
        case .shuttingDown: "the resumable stream context is shutting down"
        case .followerTooSlow(let limit):
            "the reader fell more than \(limit) bytes behind the stream and was dropped; resume from what it read"
        }
    }
}

/// The text of a resumable stream, chunk by chunk. Iterate it once; it ends when the producer's source
/// ends, and throws if the source failed or (for followers) the producer became unreachable or the reader fell
/// too far behind (``ResumableStreamError/followerTooSlow(_:)``).
///
/// Cancelling the task that reads it, or dropping it, never stops the producer.
public struct ResumableTextStream: AsyncSequence, Sendable {
    /// A chunk of text.
    public typealias Element = String
    /// What iteration can throw.
    public typealias Failure = any Error
    let chunks: AsyncThrowingStream<String, any Error>
    /// A follower's unread bytes; `nil` for a producer's own stream.
    let backlog: FollowerBacklog?

    init(chunks: AsyncThrowingStream<String, any Error>, backlog: FollowerBacklog? = nil) {
        self.chunks = chunks
        self.backlog = backlog
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: chunks.makeAsyncIterator(), backlog: backlog)
    }

    /// Reads the whole stream into one string.
    public func collect() async throws -> String {
        var text = ""
        for try await chunk in self { text += chunk }
        return text
    }

    /// Iterates the chunks.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: AsyncThrowingStream<String, any Error>.AsyncIterator
        let backlog: FollowerBacklog?

        /// The next chunk, or `nil` at the end of the stream.
        public mutating func next() async throws -> String? {
            try await next(isolation: nil)
        }

        /// The next chunk, or `nil` at the end of the stream, without leaving the caller's isolation.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> String? {
            let chunk = try await chunks.next(isolation: actor)
            if let chunk, let backlog { backlog.consumed(chunk.utf8.count) }
            return chunk
        }
    }
}
