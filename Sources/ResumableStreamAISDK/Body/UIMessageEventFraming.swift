import Foundation
import ResumableStream

/// Cuts the text of a resumable answer at event boundaries, and ends it properly whatever happened.
///
/// A follower's text may come in pieces that split an event (the producer cuts its replay into pieces, and a
/// reader that fell behind gets what accumulated as one chunk), so an event is only handed on once its blank
/// line arrived. An answer whose text ends without `data: [DONE]` (it was stopped, or its reading failed) gets
/// an `abort` or `error` chunk and `[DONE]`, after dropping the incomplete event, so that the client always sees
/// whole JSON chunks and the end.
struct UIMessageEventFraming: Sendable {
    /// The text after the last complete event.
    private var pending = ""
    /// Whether `[DONE]` was handed on: nothing comes after it.
    private(set) var isDone = false

    /// The complete events that `chunk` finished, or `nil` if it finished none.
    mutating func append(_ chunk: String) -> String? {
        guard !isDone else { return nil }
        pending += chunk
        guard let boundary = pending.range(of: "\n\n", options: .backwards) else { return nil }
        let complete = String(pending[..<boundary.upperBound])
        pending = String(pending[boundary.upperBound...])
        if complete.hasSuffix(UIMessageChunk.doneEvent) { isDone = true }
        return complete
    }

    /// The events that end an answer whose text ended: none after `[DONE]`, else (it was stopped, or ended
    /// without its end) `abort` and `[DONE]`.
    mutating func end() -> String? {
        guard !isDone else { return nil }
        isDone = true
        return UIMessageChunk.abort.event + UIMessageChunk.doneEvent
    }

    /// The events that end an answer whose reading failed with `error`: none after `[DONE]`, else an `error`
    /// chunk that says what happened, and `[DONE]`.
    mutating func end(failure error: any Error) -> String? {
        guard !isDone else { return nil }
        isDone = true
        return UIMessageChunk.error(Self.errorText(error)).event + UIMessageChunk.doneEvent
    }

    /// What the user is told when reading an answer failed.
    static func errorText(_ error: any Error) -> String {
        switch (error as? ResumableStreamError)?.code {
        case .producerUnreachable?: "The answer was interrupted: the server producing it stopped responding."
        case .bufferLimitExceeded?: "The answer was interrupted: it exceeded the server's buffer limit."
        case .producerFailed?: "An error occurred."
        default: "The connection to the answer was interrupted. Reload the page to resume it."
        }
    }
}
