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
    /// A follower's stream id was started anew (``ResumableStreamContext/createNewResumableStream(_:makeStream:)``,
    /// or a new producer after the old one died) before the follower got the whole stream it was reading: what it
    /// read is an exact prefix of that earlier stream, whose rest nobody can serve. Ask for the id again to read
    /// the new stream from its start.
    case streamReplaced

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
        case .streamReplaced: "the stream id was started anew before this reader got the whole stream"
        }
    }
}
