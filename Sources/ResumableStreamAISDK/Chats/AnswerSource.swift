/// The source of an answer's resumable stream: the encoded events, then `onEnd` once they ended (after
/// `[DONE]`, or when the producer's reading was cancelled by a stop), before the producer marks the stream
/// done.
struct AnswerSource<Events: AsyncSequence>: AsyncSequence where Events.Element == String {
    typealias Element = String
    typealias Failure = any Error

    let events: Events
    let onEnd: @Sendable () async -> Void

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(events: events.makeAsyncIterator(), onEnd: onEnd)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var events: Events.AsyncIterator
        let onEnd: @Sendable () async -> Void
        var ended = false

        mutating func next() async throws -> String? {
            guard !ended else { return nil }
            do {
                if let events = try await events.next() { return events }
                ended = true
                await onEnd()
                return nil
            } catch {
                ended = true
                await onEnd()
                throw error
            }
        }
    }
}
