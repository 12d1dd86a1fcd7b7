/// One chunk of the AI SDK's UI message stream (its `UIMessageChunk` type), with the fields this library
/// writes, in the order the AI SDK's own server writes them.
///
/// Only fields that every AI SDK since 5.0 accepts: its 5.x schemas are strict objects, which reject a field
/// they do not know (such as `finish`'s `finishReason` of 6.0, or `abort`'s `reason`).
enum UIMessageChunk: Sendable, Hashable {
    case start(messageID: String?)
    case startStep
    case textStart(id: String)
    case textDelta(id: String, delta: String)
    case textEnd(id: String)
    case reasoningStart(id: String)
    case reasoningDelta(id: String, delta: String)
    case reasoningEnd(id: String)
    case messageMetadata(JSONValue)
    case error(String)
    case finishStep
    case finish
    case abort

    /// The chunk as compact JSON.
    var json: String {
        switch self {
        case .start(let messageID?): #"{"type":"start","messageId":"# + JSONText.quoted(messageID) + "}"
        case .start(nil): #"{"type":"start"}"#
        case .startStep: #"{"type":"start-step"}"#
        case .textStart(let id): #"{"type":"text-start","id":"# + JSONText.quoted(id) + "}"
        case .textDelta(let id, let delta): #"{"type":"text-delta","id":"# + JSONText.quoted(id) + #","delta":"# + JSONText.quoted(delta) + "}"
        case .textEnd(let id): #"{"type":"text-end","id":"# + JSONText.quoted(id) + "}"
        case .reasoningStart(let id): #"{"type":"reasoning-start","id":"# + JSONText.quoted(id) + "}"
        case .reasoningDelta(let id, let delta):
            #"{"type":"reasoning-delta","id":"# + JSONText.quoted(id) + #","delta":"# + JSONText.quoted(delta) + "}"
        case .reasoningEnd(let id): #"{"type":"reasoning-end","id":"# + JSONText.quoted(id) + "}"
        case .messageMetadata(let metadata): #"{"type":"message-metadata","messageMetadata":"# + metadata.jsonText + "}"
        case .error(let text): #"{"type":"error","errorText":"# + JSONText.quoted(text) + "}"
        case .finishStep: #"{"type":"finish-step"}"#
        case .finish: #"{"type":"finish"}"#
        case .abort: #"{"type":"abort"}"#
        }
    }

    /// The chunk as one server-sent event, as the AI SDK's `JsonToSseTransformStream` writes it.
    var event: String { "data: " + json + "\n\n" }

    /// The event that ends every UI message stream.
    static let doneEvent = "data: [DONE]\n\n"
}
