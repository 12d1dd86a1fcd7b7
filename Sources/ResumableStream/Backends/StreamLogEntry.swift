/// An entry of a stream's durable log (``ResumableStreamConfiguration/durableLog``): text that starts `offset`
/// UTF-16 code units into the stream, or the mark that the stream ended there.
///
/// In Redis the log is a stream (`P:log:<id>`) whose entry ids are where their text ends (`<end>-0`, the end
/// mark `<length>-1`), so that a resume at any offset is one `XRANGE` from the right entry.
public struct StreamLogEntry: Sendable, Hashable {
    /// Where the text starts in the stream (UTF-16 code units); for the end mark, the stream's length.
    public var offset: Int
    /// The text; empty for the end mark.
    public var text: String
    /// Whether this is the end mark: the log holds the whole stream.
    public var isEnd: Bool

    /// Text that starts at `offset`.
    public init(offset: Int, text: String) {
        self.offset = offset
        self.text = text
        isEnd = false
    }

    /// The end mark of a stream of `length` UTF-16 code units.
    public static func end(length: Int) -> StreamLogEntry {
        var entry = StreamLogEntry(offset: length, text: "")
        entry.isEnd = true
        return entry
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
