import Foundation

/// The names, messages and rules of the resumable-stream wire protocol, byte-compatible with the TypeScript
/// package `resumable-stream` 2.x (shared/PROTOCOL.md §2).
enum WireProtocol {
    /// The in-band terminator on a chunk channel, verbatim from the TypeScript package.
    static let doneMessage = "\n\n\nDONE_SENTINEL_hasdfasudfyge374%$%^$EDSATRTYFtydryrte\n"
    /// The sentinel's value once the stream finished.
    static let doneValue = "DONE"
    /// The redis error that `INCR` gives on the `DONE` sentinel.
    static let notAnIntegerError = "ERR value is not an integer or out of range"
}

/// The keys and channels of one stream, under `<keyPrefix>:rs`.
struct StreamKeys: Sendable {
    let prefix: String
    let streamID: String

    init(keyPrefix: String, streamID: String) {
        prefix = "\(keyPrefix):rs"
        self.streamID = streamID
    }

    /// `P:sentinel:<id>`: an integer while running (or `"1"`), `"DONE"` when finished.
    var sentinel: String { "\(prefix):sentinel:\(streamID)" }
    /// `P:request:<id>`: resume requests, consumer to producer.
    var requests: String { "\(prefix):request:\(streamID)" }
    /// `P:chunk:<listenerId>`: data for one consumer.
    func chunks(for listenerID: String) -> String { "\(prefix):chunk:\(listenerID)" }
    /// `P:meta:<id>` (our addition, ignored by TypeScript): how a finished stream ended, as JSON.
    var meta: String { "\(prefix):meta:\(streamID)" }
    /// `P:stop:<id>` (our addition): a stop request stored for a producer that is not listening yet.
    var stopFlag: String { "\(prefix):stop:\(streamID)" }
    /// `P:generation:<id>` (our addition): the token of the producer that
    /// ``ResumableStreamContext/createNewResumableStream(_:makeStream:)`` started last for this id.
    var generation: String { "\(prefix):generation:\(streamID)" }
}

/// A message on the request channel.
enum RequestMessage: Equatable, Sendable {
    /// A consumer asks for the replay from `skipCharacters` and then the live chunks, on its own channel.
    case resume(listenerID: String, skipCharacters: Int)
    /// Someone asks the producer to stop (our addition; a TypeScript producer ignores it).
    case stop
    /// A producer started by `createNewResumableStream` announces itself with its token (our addition): from
    /// this message on, in channel order, it answers the requests and the producers before it do not.
    case generation(String)

    /// The largest request we parse; anything larger is not ours.
    static let maximumSize = 16 * 1024

    /// The TypeScript consumer's exact bytes: `{"listenerId":"…"}` plus `,"skipCharacters":n` when given.
    static func encodeResume(listenerID: String, skipCharacters: Int?) -> String {
        let id = listenerID.jsonQuoted
        guard let skipCharacters else { return "{\"listenerId\":\(id)}" }
        return "{\"listenerId\":\(id),\"skipCharacters\":\(skipCharacters)}"
    }

    static let encodedStop = "{\"stop\":true}"

    static func encodeGeneration(_ token: String) -> String { "{\"generation\":\(token.jsonQuoted)}" }

    /// Parses a request the way a TypeScript producer reads it (`skipCharacters || 0`, numbers truncated,
    /// unknown fields ignored). Anything else, including JSON that is not an object, returns `nil`.
    static func parse(_ text: String) -> RequestMessage? {
        guard text.utf8.count <= maximumSize,
              let fields = try? JSONDecoder().decode(Fields.self, from: Data(text.utf8))
        else { return nil }
        if fields.listenerId == nil, let token = fields.generation, !token.isEmpty { return .generation(token) }
        if fields.stop == true, fields.listenerId == nil { return .stop }
        guard let listenerID = fields.listenerId, !listenerID.isEmpty else { return nil }
        return .resume(listenerID: listenerID, skipCharacters: truncated(fields.skipCharacters ?? 0))
    }

    /// The fields we read; a field of the wrong type counts as missing, as `x || 0` treats it in TypeScript.
    private struct Fields: Decodable {
        enum CodingKeys: String, CodingKey { case listenerId, skipCharacters, stop, generation }
        let listenerId: String?
        let skipCharacters: Double?
        let stop: Bool?
        let generation: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            listenerId = try? container.decodeIfPresent(String.self, forKey: .listenerId)
            skipCharacters = try? container.decodeIfPresent(Double.self, forKey: .skipCharacters)
            stop = try? container.decodeIfPresent(Bool.self, forKey: .stop)
            generation = try? container.decodeIfPresent(String.self, forKey: .generation)
        }
    }

    /// `Math.trunc`, saturated to `Int`.
    private static func truncated(_ value: Double) -> Int {
        guard value.isFinite else { return 0 }
        if value >= Double(Int.max) { return Int.max }
        if value <= Double(Int.min) { return Int.min }
        return Int(value.rounded(.towardZero))
    }
}

/// How a finished stream ended, stored in `P:meta:<id>` (TypeScript peers never read it).
enum StreamEnding: Equatable, Sendable {
    case completed
    case stopped
    case failed(String)

    private struct Fields: Codable {
        let state: String
        let error: String?
    }

    var json: String {
        let fields = switch self {
        case .completed: Fields(state: "completed", error: nil)
        case .stopped: Fields(state: "stopped", error: nil)
        case .failed(let message): Fields(state: "failed", error: message)
        }
        let data = (try? JSONEncoder().encode(fields)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    init?(json: String) {
        guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(json.utf8)) else { return nil }
        switch fields.state {
        case "completed": self = .completed
        case "stopped": self = .stopped
        case "failed": self = .failed(fields.error ?? "the producer failed")
        default: return nil
        }
    }
}

extension String {
    /// The string as a JSON string literal: quotes, backslashes and control characters escaped, everything
    /// else as it is (UTF-8). Used for the messages on the request channel and for server-sent events' data.
    var jsonQuoted: String {
        var escaped = "\""
        escaped.reserveCapacity(utf8.count + 2)
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case "\u{2028}": escaped += "\\u2028"
            case "\u{2029}": escaped += "\\u2029"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }

    /// JavaScript's `s.slice(start)` counted in UTF-16 code units: a negative start counts from the end, a
    /// start past the end gives "". A start inside a surrogate pair leaves a lone low surrogate, which
    /// Node's UTF-8 encoder writes as U+FFFD; so does this.
    func jsSlice(from start: Int, utf16Count: Int? = nil) -> String {
        let count = utf16Count ?? utf16.count
        let offset = start < 0 ? Swift.max(0, count + Swift.max(start, -count)) : start
        guard offset < count else { return "" }
        guard offset > 0 else { return self }
        let index = utf16.index(utf16.startIndex, offsetBy: offset)
        if let aligned = index.samePosition(in: unicodeScalars) {
            return String(self[aligned...])
        }
        let next = utf16.index(after: index)
        return "\u{FFFD}" + String(self[next...])
    }
}
