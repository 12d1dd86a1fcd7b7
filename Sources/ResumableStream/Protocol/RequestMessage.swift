import Foundation

/// A message on the request channel.
enum RequestMessage: Equatable, Sendable {
    /// A consumer asks for the replay from `skipCharacters` and then the live chunks, on its own channel; in
    /// ``ChunkFrame``s if `framing` is given (our addition, `"framing":2` and optionally `"window":n`: a Swift
    /// follower asks, a TypeScript producer ignores it and answers in plain text; so does a Swift producer of a
    /// version whose frames had no generation, which asked for `"framing":1`).
    case resume(listenerID: String, skipCharacters: Int, framing: FrameRequest? = nil)
    /// A framed follower confirms that it received its stream up to `offset` (our addition: sent only to a
    /// producer that answered in frames), which opens its window further.
    case received(listenerID: String, offset: Int)
    /// Someone asks the producer of generation `target` to stop (our addition; a TypeScript producer ignores
    /// it); `nil` for whichever producer hears it (a stream whose producer wrote no generation key).
    case stop(target: StreamGeneration?)
    /// A producer that claimed an id an earlier producer had announces its generation (our addition): from this
    /// message on, in channel order, it answers the requests and the producers before it do not.
    case generation(StreamGeneration)

    /// The largest request we parse; anything larger is not ours.
    static let maximumSize = 16 * 1024

    /// The smallest and largest window a request may ask for: a smaller one would cost a confirmation per few
    /// characters, a larger one is no limit.
    static let windowRange = 1024...(1 << 30)

    /// The TypeScript consumer's exact bytes: `{"listenerId":"…"}` plus `,"skipCharacters":n` when given,
    /// then `,"framing":2` (and `,"window":n`) for a follower that wants ``ChunkFrame``s.
    static func encodeResume(listenerID: String, skipCharacters: Int?, framing: FrameRequest? = nil) -> String {
        var request = "{\"listenerId\":" + listenerID.jsonQuoted
        if let skipCharacters { request += ",\"skipCharacters\":\(skipCharacters)" }
        if let framing {
            request += ",\"framing\":\(framingVersion)"
            if let window = framing.window { request += ",\"window\":\(window)" }
        }
        return request + "}"
    }

    /// A framed follower's confirmation: `{"received":n,"listener":"…"}` (no `listenerId`, so that it is never
    /// taken for a resume request).
    static func encodeReceived(listenerID: String, offset: Int) -> String {
        "{\"received\":\(offset),\"listener\":" + listenerID.jsonQuoted + "}"
    }

    /// The frame format a follower asks for (`"framing":2`: frames carry the producer's generation).
    static let framingVersion = 2

    /// A stop request for the producer of `target` (`{"stop":true,"generation":"…"}`), or for any (`{"stop":true}`).
    static func encodeStop(target: StreamGeneration?) -> String {
        guard let target else { return "{\"stop\":true}" }
        return "{\"stop\":true,\"generation\":\"\(target.hex)\"}"
    }

    static func encodeGeneration(_ generation: StreamGeneration) -> String {
        generationPrefix + generation.hex + generationSuffix
    }

    /// The announcement of a generation (`{"generation":"…"}`) around it, for a claim to fill in.
    static let generationPrefix = "{\"generation\":\""
    static let generationSuffix = "\"}"

    /// Parses a request the way a TypeScript producer reads it (`skipCharacters || 0`, numbers truncated,
    /// unknown fields ignored). Anything else, including JSON that is not an object, returns `nil`.
    static func parse(_ text: String) -> RequestMessage? {
        guard text.utf8.count <= maximumSize,
            let fields = try? JSONDecoder().decode(Fields.self, from: Data(text.utf8))
        else { return nil }
        if fields.stop == true, fields.listenerId == nil {
            guard let target = fields.generation else { return .stop(target: nil) }
            return StreamGeneration(hex: target).map { .stop(target: $0) }
        }
        if fields.listenerId == nil, let hex = fields.generation { return StreamGeneration(hex: hex).map { .generation($0) } }
        if fields.listenerId == nil, let listenerID = fields.listener, !listenerID.isEmpty, let offset = fields.received {
            return .received(listenerID: listenerID, offset: max(0, truncated(offset)))
        }
        guard let listenerID = fields.listenerId, !listenerID.isEmpty else { return nil }
        let framing =
            fields.framing == Double(framingVersion)
            ? FrameRequest(
                window: fields.window.map { window in
                    truncated(window).clamped(to: windowRange)
                }) : nil
        return .resume(listenerID: listenerID, skipCharacters: truncated(fields.skipCharacters ?? 0), framing: framing)
    }

    /// The fields we read; a field of the wrong type counts as missing, as `x || 0` treats it in TypeScript.
    private struct Fields: Decodable {
        enum CodingKeys: String, CodingKey { case listenerId, skipCharacters, stop, generation, framing, window, received, listener }
        let listenerId: String?
        let skipCharacters: Double?
        let stop: Bool?
        let generation: String?
        let framing: Double?
        let window: Double?
        let received: Double?
        let listener: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            listenerId = try? container.decodeIfPresent(String.self, forKey: .listenerId)
            skipCharacters = try? container.decodeIfPresent(Double.self, forKey: .skipCharacters)
            stop = try? container.decodeIfPresent(Bool.self, forKey: .stop)
            generation = try? container.decodeIfPresent(String.self, forKey: .generation)
            framing = try? container.decodeIfPresent(Double.self, forKey: .framing)
            window = try? container.decodeIfPresent(Double.self, forKey: .window)
            received = try? container.decodeIfPresent(Double.self, forKey: .received)
            listener = try? container.decodeIfPresent(String.self, forKey: .listener)
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

extension Comparable {
    /// `self`, moved into `range`.
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self {
        min(max(self, range.lowerBound), range.upperBound)
    }
}
