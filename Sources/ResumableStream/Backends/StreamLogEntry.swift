/// An entry of a stream's durable log (``ResumableStreamConfiguration/durableLog``): text that starts `offset`
/// UTF-16 code units into the stream, or the mark that the stream ended there, with how it ended.
///
/// In Redis the log is a stream (`P:log:<id>`) whose entry ids are where their text ends (`<end>-0`, the end
/// mark `<length>-1`), so that a resume at any offset is one `XRANGE` from the right entry.
public struct StreamLogEntry: Sendable, Hashable {
    /// Where the text starts in the stream (UTF-16 code units); for the end mark, the stream's length.
    public var offset: Int
    /// The text; for the end mark, how the stream ended as the producer recorded it (empty when it completed).
    /// A backend stores and returns it as it is.
    public var text: String
    /// Whether this is the end mark: the log holds the whole stream.
    public var isEnd: Bool

    /// Text that starts at `offset`.
    public init(offset: Int, text: String) {
        self.offset = offset
        self.text = text
        isEnd = false
    }

    /// The end mark of a stream of `length` UTF-16 code units, with `text` as the producer recorded it: a
    /// backend's ``ResumableStreamPublisher/logEntries(at:after:limit:)`` returns the mark it stored.
    public static func end(length: Int, text: String) -> StreamLogEntry {
        var entry = StreamLogEntry(offset: length, text: text)
        entry.isEnd = true
        return entry
    }

    /// The end mark of a stream of `length` UTF-16 code units that ended as `ending`. The ending travels with
    /// the mark, so that a reader of the log gets the end and how it ended in one read, and never the ending
    /// of another life of the id (the meta key is rewritten by each claim and finish).
    static func end(length: Int, ending: StreamEnding) -> StreamLogEntry {
        .end(length: length, text: ending == .completed ? "" : ending.json)
    }

    /// How the stream ended, for the end mark; `nil` for text. A mark that does not say (written by a
    /// TypeScript-compatible tool, or unreadable) counts as completed.
    var ending: StreamEnding? {
        guard isEnd else { return nil }
        return text.isEmpty ? .completed : StreamEnding(json: text) ?? .completed
    }

    /// The largest offset a log entry may have: JavaScript's largest exact integer, beyond any real stream,
    /// so that no arithmetic on an entry read from Redis (which anyone with access could have written)
    /// overflows.
    static let maximumOffset = 1 << 53

    /// The entry's id in the Redis stream: where its text ends, the end mark just after it.
    var id: String {
        isEnd ? "\(offset)-1" : "\(offset + text.utf16.count)-0"
    }
}
