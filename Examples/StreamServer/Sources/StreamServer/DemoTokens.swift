/// A simulated LLM token stream: words with non-ASCII text, emitted with a delay each.
struct DemoTokens: AsyncSequence, Sendable {
    typealias Element = String
    let delay: Duration

    static let text = """
        Resumable streams survive dropped connections. Ein Strom, der weiterläuft: \
        流は途切れない 🌊. A second client can follow along live, from any instance, \
        because the producer answers resume requests over Redis pub/sub. Fin. ✅
        """

    func makeAsyncIterator() -> Iterator {
        Iterator(tokens: Self.tokens[...], delay: delay)
    }

    /// The text cut after each space, so the pieces concatenate back to it exactly.
    static var tokens: [String] {
        var pieces: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character == " " {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    struct Iterator: AsyncIteratorProtocol {
        var tokens: ArraySlice<String>
        let delay: Duration

        mutating func next() async throws -> String? {
            guard let token = tokens.popFirst() else { return nil }
            try await Task.sleep(for: delay)
            return token
        }
    }
}
