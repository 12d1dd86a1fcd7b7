/// The JSON body of the AI SDK's chat request (`POST /api/chat` from `DefaultChatTransport`):
/// `{ id, messages, trigger, messageId }` and whatever else the application's `body` option adds, which this
/// type ignores.
///
/// ```swift
/// let chat = try JSONDecoder().decode(AIChatRequest.self, from: body)
/// let answer = try await chats.startAnswer(chatID: chat.id) { try await model.streamText(chat.messages) }
/// ```
public struct AIChatRequest: Decodable, Sendable, Hashable {
    /// The chat's id: the `{id}` of the resume and stop routes.
    public var id: String
    /// The chat's messages as the client holds them, the new one last.
    public var messages: [Message]
    /// Why the client sent the request; `nil` if it did not say, or said something this version does not know.
    public var trigger: Trigger?
    /// The id of the message the request concerns, for a regenerate (`messageId`).
    public var messageID: String?

    /// Why the client sent a chat request.
    public enum Trigger: String, Sendable, Hashable {
        /// A new message from the user (`sendMessage`).
        case submitMessage = "submit-message"
        /// A new answer to the last user message (`regenerate`).
        case regenerateMessage = "regenerate-message"
    }

    /// A UI message of the chat: its role and its text. Of its parts, only the text parts count here (their
    /// texts joined in order); reasoning, files, tools and sources are left out.
    public struct Message: Decodable, Sendable, Hashable {
        /// The message's id, if the client gave one.
        public var id: String?
        /// `system`, `user` or `assistant`.
        public var role: String
        /// The text of its text parts, joined.
        public var text: String

        /// A message of `role` with `text`.
        public init(id: String? = nil, role: String, text: String) {
            self.id = id
            self.role = role
            self.text = text
        }

        private enum CodingKeys: String, CodingKey { case id, role, parts }

        private struct Part: Decodable {
            let type: String
            let text: String?

            private enum CodingKeys: String, CodingKey { case type, text }

            /// A part of any type; a `text` that is not a string (a part of a kind this version does not know)
            /// counts as none.
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                type = try container.decode(String.self, forKey: .type)
                text = try? container.decodeIfPresent(String.self, forKey: .text)
            }
        }

        /// Decodes a UI message (`{ id, role, parts: [{ type: "text", text }, …] }`).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decodeIfPresent(String.self, forKey: .id)
            role = try container.decode(String.self, forKey: .role)
            let parts = try container.decodeIfPresent([Part].self, forKey: .parts) ?? []
            text = parts.filter { $0.type == "text" }.compactMap(\.text).joined()
        }
    }

    /// A request of chat `id` with `messages`.
    public init(id: String, messages: [Message], trigger: Trigger? = .submitMessage, messageID: String? = nil) {
        self.id = id
        self.messages = messages
        self.trigger = trigger
        self.messageID = messageID
    }

    private enum CodingKeys: String, CodingKey {
        case id, messages, trigger
        case messageID = "messageId"
    }

    /// Decodes the request's JSON body.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        messages = try container.decode([Message].self, forKey: .messages)
        trigger = try container.decodeIfPresent(String.self, forKey: .trigger).flatMap(Trigger.init(rawValue:))
        messageID = try container.decodeIfPresent(String.self, forKey: .messageID)
    }
}
