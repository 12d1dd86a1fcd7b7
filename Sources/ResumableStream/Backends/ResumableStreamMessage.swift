/// One event on a subscribed channel.
public enum ResumableStreamMessage: Sendable, Hashable {
    /// A message, as text.
    case message(String)
    /// The subscription was interrupted and re-established: messages may have been lost in between.
    case gap
}
