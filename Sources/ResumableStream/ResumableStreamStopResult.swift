/// The outcome of ``ResumableStreamContext/stop(_:)``.
public enum ResumableStreamStopResult: Sendable, Hashable {
    /// The running producer received the request; it stops and its readers end cleanly.
    case stopping
    /// The stream runs, but its producer did not hear the request now (its connection to Redis is coming back,
    /// or it died): the request is stored for that producer alone, within the stop request TTL. It never stops
    /// a later stream of the same id.
    case awaitingProducer
    /// The stream had already finished.
    case alreadyDone
    /// No stream with this id runs or finished (never started, or expired): nothing was stored.
    case notFound
}
