/// The outcome of asking for a stream: a stream to read, or why there is none. Each case maps to an HTTP
/// answer without string matching (200, 200, 200, 422, 404, 503).
public enum ResumableStreamResult: Sendable {
    /// This call became the producer: the stream is the source's own output.
    case created(ResumableTextStream)
    /// Another producer (in this process or another) runs the stream: this follows it from the start (or
    /// from `skipCharacters`) and then live.
    case resumed(ResumableTextStream)
    /// The stream finished, and its text was retained
    /// (``ResumableStreamConfiguration/finishedStreamRetention``): this is the rest of it from
    /// `skipCharacters`, then its ending (a failed stream throws ``ResumableStreamError/producerFailed(_:)``
    /// after its text). Only a call that gives `skipCharacters` gets it: a client that says where it is came
    /// back mid-stream, while one that does not (a page load) gets ``alreadyDone`` as in TypeScript.
    case finished(ResumableTextStream)
    /// The stream finished; its output is no longer available (TypeScript: `null`).
    case alreadyDone
    /// There is no such stream (TypeScript: `undefined`).
    case notFound
    /// The stream exists but its producer did not answer within the ack timeout: it crashed or is
    /// unreachable (TypeScript: throws "Timeout waiting for ack").
    case producerUnreachable

    /// The case's name, as the resume span's `resumable_stream.outcome` attribute records it.
    var outcome: String {
        switch self {
        case .created: "created"
        case .resumed: "resumed"
        case .finished: "finished"
        case .alreadyDone: "already_done"
        case .notFound: "not_found"
        case .producerUnreachable: "producer_unreachable"
        }
    }

    /// The stream of ``created(_:)``, ``resumed(_:)`` and ``finished(_:)``, `nil` otherwise.
    public var stream: ResumableTextStream? {
        switch self {
        case .created(let stream), .resumed(let stream), .finished(let stream): stream
        case .alreadyDone, .notFound, .producerUnreachable: nil
        }
    }
}
