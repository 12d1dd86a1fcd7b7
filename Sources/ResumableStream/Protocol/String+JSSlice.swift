extension String {
    /// JavaScript's `s.slice(start)` counted in UTF-16 code units: a negative start counts from the end, a
    /// start past the end gives "". A start inside a surrogate pair leaves a lone low surrogate, which
    /// Node's UTF-8 encoder writes as U+FFFD; so does this.
    func jsSlice(from start: Int, utf16Count: Int? = nil) -> String {
        let count = utf16Count ?? utf16.count
        let offset = Self.jsSliceOffset(start, count: count)
        guard offset < count else { return "" }
        guard offset > 0 else { return self }
        let index = utf16.index(utf16.startIndex, offsetBy: offset)
        if let aligned = index.samePosition(in: unicodeScalars) {
            return String(self[aligned...])
        }
        let next = utf16.index(after: index)
        return "\u{FFFD}" + String(self[next...])
    }

    /// ``jsSlice(from:utf16Count:)``, and where it starts in `self` (within `0...count`).
    func jsRest(from start: Int, utf16Count: Int? = nil) -> (text: String, offset: Int) {
        let count = utf16Count ?? utf16.count
        return (jsSlice(from: start, utf16Count: count), Self.jsSliceOffset(start, count: count))
    }

    /// Where JavaScript's `slice(start)` starts in a string of `count` UTF-16 code units: a negative start
    /// counts from the end, and the result is within `0...count`.
    static func jsSliceOffset(_ start: Int, count: Int) -> Int {
        start < 0 ? Swift.max(0, count + Swift.max(start, -count)) : Swift.min(start, count)
    }
}
