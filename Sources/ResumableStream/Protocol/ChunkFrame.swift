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
        let bytes = message.utf8
        var index = bytes.startIndex
        func next() -> UInt8? {
            guard index < bytes.endIndex else { return nil }
            defer { index = bytes.index(after: index) }
            return bytes[index]
        }
        guard next() == start, let marker = next(), marker == textMarker || marker == endMarker else { return nil }
        func hex(digits: Int) -> UInt64? {
            var value: UInt64 = 0
            for _ in 0..<digits {
                guard let digit = next().flatMap(hexValue) else { return nil }
                value = value << 4 | UInt64(digit)
            }
            return value
        }
        guard let identity = hex(digits: 8), let generation = hex(digits: 16) else { return nil }
        var offset = 0
        var digits = 0
        while true {
            guard let byte = next() else { return nil }
            if byte == UInt8(ascii: ":") { break }
            // 18 digits at most: no overflow, and no offset a real stream reaches.
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), digits < 18 else { return nil }
            offset = offset * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        guard digits > 0 else { return nil }
        let kind: Kind
        if marker == textMarker {
            kind = .text(String(message[index...]))
        } else if index == bytes.endIndex {
            kind = .end(.completed)
        } else {
            guard let ending = StreamEnding(json: String(message[index...])), ending != .completed else { return nil }
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
