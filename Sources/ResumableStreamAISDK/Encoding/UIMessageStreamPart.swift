/// One part of an answer, as a richer source than text deltas gives it to ``UIMessageStreamEncoder``.
///
/// Consecutive text deltas make one text part of the message (`text-start`, `text-delta`…, `text-end`), and
/// consecutive reasoning deltas one reasoning part; a delta of the other kind, metadata or an error closes
/// the open part. Empty deltas are skipped.
public enum UIMessageStreamPart: Sendable, Hashable {
    /// A piece of the answer's text (`text-delta`).
    case textDelta(String)
    /// A piece of the model's reasoning (`reasoning-delta`), which the AI SDK shows as a reasoning part.
    case reasoningDelta(String)
    /// The message's metadata (`message-metadata`): the client merges it into `message.metadata`.
    case messageMetadata(JSONValue)
    /// A failure to show the user (`error`, with this text): `useChat` ends the answer there and sets its
    /// `error`. The source may still end afterwards; the encoder ends the stream properly either way.
    case error(String)
}
