extension String {
    /// The messages that carry `self` on a chunk channel: pieces of at most `maximum` UTF-16 code units (two at
    /// least, so that a surrogate pair is never cut), cut on scalar boundaries, none equal to the DONE message (a
    /// piece that equals it goes out in two, so that no consumer, Swift or TypeScript, takes it for the end).
    /// Consumers concatenate pieces.
    func chunkMessages(maximum: Int, utf16Count: Int? = nil) -> [String] {
        let pieceSize = Swift.max(2, maximum)
        let count = utf16Count ?? utf16.count
        guard count > pieceSize else { return Self.avoidingDoneMessage(self) }
        var pieces: [String] = []
        var start = startIndex
        var remaining = count
        while remaining > pieceSize {
            var end = utf16.index(start, offsetBy: pieceSize)
            if end.samePosition(in: unicodeScalars) == nil { end = utf16.index(before: end) }
            pieces += Self.avoidingDoneMessage(String(self[start..<end]))
            remaining -= utf16.distance(from: start, to: end)
            start = end
        }
        return pieces + Self.avoidingDoneMessage(String(self[start...]))
    }

    /// `piece`, or its first character and the rest if it equals the DONE message.
    private static func avoidingDoneMessage(_ piece: String) -> [String] {
        guard piece == WireProtocol.doneMessage else { return [piece] }
        return [String(piece.prefix(1)), String(piece.dropFirst())]
    }
}
