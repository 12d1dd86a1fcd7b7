import Foundation

/// A message on the request channel.
enum RequestMessage: Equatable, Sendable {
    /// A consumer asks for the replay from `skipCharacters` and then the live chunks, on its own channel; in
    /// ``ChunkFrame``s if `wantsFrames` (our addition, `"framing":1`: a Swift follower asks, a TypeScript
    /// producer ignores it and answers in plain text).
    case resume(listenerID: String, skipCharacters: Int, wantsFrames: Bool = false)
    /// Someone asks the producer to stop (our addition; a TypeScript producer ignores it).
    case stop
    /// A producer started by `createNewResumableStream` announces itself with its token (our addition): from
    /// this message on, in channel order, it answers the requests and the producers before it do not.
    case generation(String)

    /// The largest request we parse; anything larger is not ours.
    static let maximumSize = 16 * 1024

    /// The TypeScript consumer's exact bytes: `{"listenerId":"…"}` plus `,"skipCharacters":n` when given,
    /// then `,"framing":1` for a follower that wants ``ChunkFrame``s.
    static func encodeResume(listenerID: String, skipCharacters: Int?, wantsFrames: Bool = false) -> String {
        var request = "{\"listenerId\":" + listenerID.jsonQuoted
        if let skipCharacters { request += ",\"skipCharacters\":\(skipCharacters)" }
        if wantsFrames { request += ",\"framing\":1" }
        return request + "}"
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
        return .resume(listenerID: listenerID, skipCharacters: truncated(fields.skipCharacters ?? 0), wantsFrames: fields.framing == 1)
    }

    /// The fields we read; a field of the wrong type counts as missing, as `x || 0` treats it in TypeScript.
    private struct Fields: Decodable {
        enum CodingKeys: String, CodingKey { case listenerId, skipCharacters, stop, generation, framing }
        let listenerId: String?
        let skipCharacters: Double?
        let stop: Bool?
        let generation: String?
        let framing: Double?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            listenerId = try? container.decodeIfPresent(String.self, forKey: .listenerId)
            skipCharacters = try? container.decodeIfPresent(Double.self, forKey: .skipCharacters)
            stop = try? container.decodeIfPresent(Bool.self, forKey: .stop)
            generation = try? container.decodeIfPresent(String.self, forKey: .generation)
            framing = try? container.decodeIfPresent(Double.self, forKey: .framing)
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
