/// What ``ResumableStreamContext/hasExistingStream(_:)`` finds.
public enum ResumableStreamState: Sendable, Hashable {
    /// No stream with this id (never created, or expired).
    case none
    /// A producer was started and has not finished.
    case inProgress
    /// The stream finished.
    case done
}
