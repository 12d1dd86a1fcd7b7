/// An error of resumable streams: what went wrong (its ``code``, to compare with or switch over), the detail
/// that goes with it, and the error that caused it, if one did (``underlyingError``). Redis failures of a call
/// surface as the backend's own errors (`RedisError`); a follower that Redis failed mid-stream ends with
/// ``Code/interrupted`` and the backend's error beneath it.
///
/// ```
/// catch let error as ResumableStreamError where error.code == .followerTooSlow
/// ```
///
/// New codes may come in any release, so a `switch` over ``code`` needs a `default`.
public struct ResumableStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case emptyStreamID, producerFailed, producerUnreachable, bufferLimitExceeded, interrupted, shuttingDown, followerTooSlow
            case streamReplaced
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// Stream ids must not be empty.
        public static let emptyStreamID = Code(.emptyStreamID)
        /// The producer's source failed; ``ResumableStreamError/producerMessage`` is the source error's
        /// description.
        public static let producerFailed = Code(.producerFailed)
        /// A follower's producer stopped answering mid-stream (it crashed or lost Redis) without finishing.
        public static let producerUnreachable = Code(.producerUnreachable)
        /// The producer buffered more than ``ResumableStreamConfiguration/maxBufferedCharacters``
        /// (``ResumableStreamError/limit``).
        public static let bufferLimitExceeded = Code(.bufferLimitExceeded)
        /// A follower's subscription was interrupted (Redis reconnect) and chunks may have been lost.
        public static let interrupted = Code(.interrupted)
        /// The context is shutting down and accepts no new streams.
        public static let shuttingDown = Code(.shuttingDown)
        /// A follower's reader fell more than ``ResumableStreamError/limit`` bytes behind
        /// (``ResumableStreamConfiguration/followerBacklogLimit``) and was dropped after the chunks it already had.
        /// Nothing is lost: resume with `skipCharacters` set to the UTF-16 code units read so far.
        public static let followerTooSlow = Code(.followerTooSlow)
        /// A follower's stream id was started anew
        /// (``ResumableStreamContext/createNewResumableStream(_:makeStream:)``, or a new producer after the old
        /// one died) before the follower got the whole stream it was reading: what it read is an exact prefix of
        /// that earlier stream, whose rest nobody can serve. Ask for the id again to read the new stream from its
        /// start.
        public static let streamReplaced = Code(.streamReplaced)

        /// The code's name, as in `producerUnreachable`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// For ``Code/producerFailed``: the description of the error the producer's source threw (it crossed Redis
    /// as text, from whichever instance ran the producer).
    public let producerMessage: String?
    /// For ``Code/bufferLimitExceeded`` (characters) and ``Code/followerTooSlow`` (bytes): the limit that was
    /// passed.
    public let limit: Int?
    /// The error that caused this one, where there was one: for ``Code/interrupted``, the backend's error when
    /// Redis could not be asked how the stream went on. Not part of `==` and `hashValue`, which compare what
    /// went wrong.
    public let underlyingError: (any Error)?

    private init(_ code: Code, producerMessage: String? = nil, limit: Int? = nil, underlyingError: (any Error)? = nil) {
        self.code = code
        self.producerMessage = producerMessage
        self.limit = limit
        self.underlyingError = underlyingError
    }

    /// This error, caused by `error`.
    public func causedBy(_ error: any Error) -> ResumableStreamError {
        ResumableStreamError(code, producerMessage: producerMessage, limit: limit, underlyingError: error)
    }

    public static func == (lhs: ResumableStreamError, rhs: ResumableStreamError) -> Bool {
        (lhs.code, lhs.producerMessage, lhs.limit) == (rhs.code, rhs.producerMessage, rhs.limit)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(producerMessage)
        hasher.combine(limit)
    }

    /// Stream ids must not be empty.
    public static let emptyStreamID = ResumableStreamError(.emptyStreamID)
    /// The producer's source failed with an error described by `message`.
    public static func producerFailed(_ message: String) -> ResumableStreamError { ResumableStreamError(.producerFailed, producerMessage: message) }
    /// A follower's producer stopped answering mid-stream without finishing.
    public static let producerUnreachable = ResumableStreamError(.producerUnreachable)
    /// The producer buffered more than `limit` characters.
    public static func bufferLimitExceeded(_ limit: Int) -> ResumableStreamError { ResumableStreamError(.bufferLimitExceeded, limit: limit) }
    /// A follower's subscription was interrupted and chunks may have been lost.
    public static let interrupted = ResumableStreamError(.interrupted)
    /// The context is shutting down and accepts no new streams.
    public static let shuttingDown = ResumableStreamError(.shuttingDown)
    /// A follower's reader fell more than `limit` bytes behind and was dropped after the chunks it already had.
    public static func followerTooSlow(_ limit: Int) -> ResumableStreamError { ResumableStreamError(.followerTooSlow, limit: limit) }
    /// A follower's stream id was started anew before it got the whole stream it was reading.
    public static let streamReplaced = ResumableStreamError(.streamReplaced)

    public var description: String {
        guard let underlyingError else { return summary }
        return "\(summary) (\(underlyingError))"
    }

    private var summary: String {
        let limit = limit.map(String.init) ?? "its"
        return switch code {
        case .emptyStreamID: "the stream id is empty"
        case .producerFailed: "the stream's producer failed: \(producerMessage ?? "")"
        case .producerUnreachable: "the stream's producer stopped answering before the stream finished"
        case .bufferLimitExceeded: "the stream exceeded its buffer limit of \(limit) characters"
        case .interrupted: "the connection to Redis was interrupted and chunks may have been lost"
        case .shuttingDown: "the resumable stream context is shutting down"
        case .followerTooSlow: "the reader fell more than \(limit) bytes behind the stream and was dropped; resume from what it read"
        case .streamReplaced: "the stream id was started anew before this reader got the whole stream"
        default: "resumable stream error \(code)"
        }
    }
}
