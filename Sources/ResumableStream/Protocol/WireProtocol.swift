/// The names, messages and rules of the resumable-stream wire protocol, byte-compatible with the TypeScript
/// package `resumable-stream` 2.x (the README's "How the handshake works" and "Compatibility" sections).
enum WireProtocol {
    /// The in-band terminator on a chunk channel, verbatim from the TypeScript package.
    static let doneMessage = "\n\n\nDONE_SENTINEL_hasdfasudfyge374%$%^$EDSATRTYFtydryrte\n"
    /// The sentinel's value once the stream finished (`INCR` then fails with "ERR value is not an integer or
    /// out of range", which TypeScript takes for done).
    static let doneValue = "DONE"
}
