import Foundation

/// A resumable stream as server-sent events (`text/event-stream`) that a browser's `EventSource` resumes by
/// itself: each event's `id:` is the stream's offset after that event, in UTF-16 code units, so the
/// `Last-Event-ID` an `EventSource` sends when it reconnects is exactly the `skipCharacters` to resume from,
/// with no gap and no duplicate.
///
/// Each chunk goes out as one event whose `data:` is the chunk as a JSON string, so that newlines, `\r` and
/// any other character arrive unchanged (SSE itself would turn `\r` and `\r\n` into `\n`). A client reads it
/// with `JSON.parse(event.data)`:
///
/// ```
/// id: 11
/// data: "Hello, wor"
///
/// ```
public struct ServerSentEvents: AsyncSequence, Sendable {
    /// One complete event, ready to write to the response.
    public typealias Element = String
    /// What iteration can throw: the stream's errors.
    public typealias Failure = any Error

    private let stream: ResumableTextStream
    private let startOffset: Int

    /// The events of `stream`, for a client that already has `offset` UTF-16 code units of it.
    public init(_ stream: ResumableTextStream, startingAt offset: Int = 0) {
        self.stream = stream
        startOffset = Swift.max(0, offset)
    }

    /// The `skipCharacters` for a request: the `Last-Event-ID` header if it holds a number (an `EventSource`
    /// reconnecting), else the `resumeAt` query parameter (the seed's convention), else `nil`.
    public static func skipCharacters(lastEventID: String?, resumeAt: String?) -> Int? {
        for value in [lastEventID, resumeAt] {
            if let value, let number = Int(value.trimmingCharacters(in: .whitespaces)), number >= 0 { return number }
        }
        return nil
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: stream.makeAsyncIterator(), offset: startOffset)
    }

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: ResumableTextStream.AsyncIterator
        var offset: Int

        /// The next event, or `nil` at the end of the stream.
        public mutating func next() async throws -> String? {
            guard let chunk = try await chunks.next() else { return nil }
            // The start offset comes from the client: saturate rather than trap on a hostile one.
            let (sum, overflow) = offset.addingReportingOverflow(chunk.utf16.count)
            offset = overflow ? .max : sum
            return "id: \(offset)\ndata: \(chunk.jsonQuoted)\n\n"
        }
    }
}

extension ResumableTextStream {
    /// The stream as server-sent events for a client that already has `offset` UTF-16 code units (the
    /// `skipCharacters` it resumed with).
    public func serverSentEvents(startingAt offset: Int = 0) -> ServerSentEvents {
        ServerSentEvents(self, startingAt: offset)
    }
}
