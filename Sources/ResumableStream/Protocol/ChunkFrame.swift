/// A message on a chunk channel for a follower that asked for frames (our addition: only Swift followers ask,
/// so TypeScript consumers never see one). It carries the stream's ``StreamIdentity``, the producer's
/// ``StreamGeneration`` and the UTF-16 offset of its text in the stream, so that the follower can tell a gap
/// or a duplicate, ask again from its own offset, ignore text from another stream, and end with an error
/// rather than splice in text of another life of its stream id.
///
/// ```
/// \u{1} F <identity: 8 hex> <generation: 16 hex> <offset: decimal> : <text>    text at offset
/// \u{1} E <identity: 8 hex> <generation: 16 hex> <length: decimal> : [ending]   the end: the stream is this long,
///                                                                        and ended so (``StreamEnding`` JSON; none
///                                                                        for completed)
/// ```
struct ChunkFrame: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case text(String)
        case end(StreamEnding)
    }

    let identity: StreamIdentity
    /// The life of the stream id whose producer sent it.
    let generation: StreamGeneration
    /// Where the text starts (``Kind/text(_:)``), or the stream's final length (``Kind/end``), in UTF-16 code
    /// units.
    let offset: Int
    let kind: Kind

    private static let start: UInt8 = 0x01
    private static let textMarker = UInt8(ascii: "F")
    private static let endMarker = UInt8(ascii: "E")

    /// The header up to the offset, which a producer makes once: `\u{1}F<identity><generation>`.
    static func textPrefix(_ identity: StreamIdentity, _ generation: StreamGeneration) -> String {
        "\u{1}F" + identity.hex + generation.hex
    }

    /// A text frame, from the prefix ``textPrefix(_:)`` made.
    static func encodeText(_ text: String, at offset: Int, prefix: String) -> String {
        prefix + String(offset) + ":" + text
    }

    /// An end frame for a stream of `length` UTF-16 code units.
    static func encodeEnd(length: Int, identity: StreamIdentity, generation: StreamGeneration, ending: StreamEnding) -> String {
        "\u{1}E" + identity.hex + generation.hex + String(length) + ":" + (ending == .completed ? "" : ending.json)
    }

    /// The frame in `message`, or `nil` if it is not one (a TypeScript producer's plain text, or garbage).
    static func parse(_ message: String) -> ChunkFrame? {
        var message = message
        return message.withUTF8 { parse($0) }
    }

    /// The frame in `bytes`, UTF-8 (one pass over the header, with no allocation but the text's).
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ChunkFrame? {
        // The start, the marker, 8 + 16 hex digits, one digit of the offset and the colon.
        guard bytes.count >= 28, bytes[0] == start, bytes[1] == textMarker || bytes[1] == endMarker else { return nil }
        var identity: UInt64 = 0
        var generation: UInt64 = 0
        for index in 2..<26 {
            guard let digit = hexValue(bytes[index]) else { return nil }
            if index < 10 { identity = identity << 4 | UInt64(digit) } else { generation = generation << 4 | UInt64(digit) }
        }
        var index = 26
        var offset = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
            // 18 digits at most: no overflow, and no offset a real stream reaches.
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]), index - 26 < 18 else { return nil }
            offset = offset * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard index > 26, index < bytes.count else { return nil }
        let rest = String(decoding: UnsafeBufferPointer(rebasing: bytes[(index + 1)...]), as: UTF8.self)
        let kind: Kind
        if bytes[1] == textMarker {
            kind = .text(rest)
        } else if rest.isEmpty {
            kind = .end(.completed)
        } else {
            guard let ending = StreamEnding(json: rest), ending != .completed else { return nil }
            kind = .end(ending)
        }
        return ChunkFrame(
            identity: StreamIdentity(value: UInt32(identity)), generation: StreamGeneration(value: generation), offset: offset, kind: kind)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
