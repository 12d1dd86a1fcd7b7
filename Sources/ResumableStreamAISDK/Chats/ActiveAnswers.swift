@_spi(Extensions) import ResumableStream

/// Each chat's active answer: the key `<keyPrefix>:rs:ai-chat:<chatID>` holds the stream id of the answer in
/// progress, through the context's own `ResumableStreamPublisher` (so Redis, a cluster and the in-memory
/// backend all work).
///
/// It only points the resume route at a stream: whether that stream still runs is the stream's own sentinel's
/// word, so a key that outlived its answer (the process died before clearing it) only costs a lookup that finds
/// the stream done or gone.
struct ActiveAnswers: Sendable {
    let publisher: any ResumableStreamPublisher
    let keyPrefix: String
    /// How long the key lives if nothing clears it: longer than any answer runs.
    let expiry: Duration

    /// The key of `chatID`'s active answer.
    func key(_ chatID: String) -> String { "\(keyPrefix):rs:ai-chat:\(chatID)" }

    /// The stream id of `chatID`'s answer in progress, if one was started and has not been cleared.
    func streamID(of chatID: String) async throws -> String? {
        guard let streamID = try await publisher.value(of: key(chatID)), streamID != Self.cleared else { return nil }
        return streamID
    }

    /// Makes `streamID` the chat's active answer, replacing any other (a regenerated answer).
    func activate(_ streamID: String, for chatID: String) async throws {
        try await publisher.setValue(streamID, for: key(chatID), expiresIn: expiry)
    }

    /// Clears the chat's active answer if it is still `streamID`, in one atomic step: an older answer that
    /// ends after a newer one started never clears the newer one's id.
    ///
    /// The publisher's fenced set does it (one Lua script on Redis): the key, fenced by itself with `streamID`
    /// as the token, is set to ``cleared`` (with a short expiry) only while it holds `streamID` or nothing.
    /// A deletion could not be fenced with the publisher's commands, and a fenced expiry of a millisecond would
    /// leave the old id readable for that millisecond.
    func clear(_ streamID: String, for chatID: String) async throws {
        let key = key(chatID)
        _ = try await publisher.setValues([(key: key, value: Self.cleared, expiresIn: .seconds(60))], fencedBy: key, token: streamID)
    }

    /// What a cleared key holds until it expires: never a stream id, which is never empty.
    static let cleared = ""
}
