extension String {
    /// The messages that carry `self` on a chunk channel: pieces of at most `maximum` UTF-16 code units, cut
    /// on scalar boundaries, none equal to the DONE message (a chunk that equals it goes out in two pieces, so
    /// that no consumer, Swift or TypeScript, takes it for the end). Consumers concatenate pieces.
    func chunkMessages(maximum: Int, utf16Count: Int? = nil) -> [String] {
        let count = utf16Count ?? utf16.count
        if count <= maximum, self != WireProtocol.doneMessage { return [self] }
        let pieceSize = count <= maximum ? count - 1 : maximum
        var pieces: [String] = []
        var start = startIndex
        var remaining = count
        while remaining > pieceSize {
            var end = utf16.index(start, offsetBy: pieceSize)
            if end.samePosition(in: unicodeScalars) == nil { end = utf16.index(before: end) }
            pieces.append(String(self[start..<end]))
            remaining -= utf16.distance(from: start, to: end)
            start = end
        }
        pieces.append(String(self[start...]))
        return pieces
    }
}
