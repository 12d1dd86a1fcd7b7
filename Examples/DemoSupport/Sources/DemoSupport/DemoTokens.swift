/// A simulated LLM token stream: words with non-ASCII text, emitted with a delay each.
public struct DemoTokens: AsyncSequence, Sendable {
    public typealias Element = String
    /// The pause before each token.
    public let delay: Duration

    /// Tokens with `delay` before each.
    public init(delay: Duration) {
        self.delay = delay
    }

    /// The whole text, which the tokens add up to.
    public static let text = """
        Resumable streams survive dropped connections. Ein Strom, der weiterläuft: \
        流は途切れない 🌊. A second client can follow along live, from any instance, \
        because the producer answers resume requests over Redis pub/sub. Fin. ✅
        """

    /// Starts at the first token.
    public func makeAsyncIterator() -> Iterator {
        Iterator(tokens: Self.tokens[...], delay: delay)
    }

    /// The text cut after each space, so the pieces concatenate back to it exactly.
    public static var tokens: [String] {
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

    /// Hands out the tokens, each after the delay.
    public struct Iterator: AsyncIteratorProtocol {
        var tokens: ArraySlice<String>
        let delay: Duration

        /// The next token, or `nil` after the last.
        public mutating func next() async throws -> String? {
            guard let token = tokens.popFirst() else { return nil }
            try await Task.sleep(for: delay)
            return token
        }
    }
}
