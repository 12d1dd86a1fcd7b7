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
