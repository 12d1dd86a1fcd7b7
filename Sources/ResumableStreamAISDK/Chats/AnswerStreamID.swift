/// The stream ids of answers: `<chatID>:<random>`, a fresh one for each answer, so that a regenerated answer is
/// a new stream. (The library keeps two lives of one id apart, but a TypeScript peer does not.)
enum AnswerStreamID {
    /// A new stream id for an answer in `chatID`: 64 random bits in hexadecimal after the chat id.
    static func make(chatID: String) -> String {
        let random = String(UInt64.random(in: .min ... .max), radix: 16)
        return chatID + ":" + String(repeating: "0", count: 16 - random.count) + random
    }

    /// A new message id for the `start` chunk: `msg-` and 96 random bits in hexadecimal.
    static func makeMessageID() -> String {
        let random = (0..<3).map { _ in
            let part = String(UInt32.random(in: .min ... .max), radix: 16)
            return String(repeating: "0", count: 8 - part.count) + part
        }
        return "msg-" + random.joined()
    }
}
