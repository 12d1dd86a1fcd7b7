/// Encodes an answer into the AI SDK's UI message stream: server-sent events, each `data: ` and one chunk of
/// compact JSON, ending with `data: [DONE]`, byte for byte as the AI SDK's `createUIMessageStreamResponse`
/// writes them.
///
/// For a text answer:
///
/// ```
/// data: {"type":"start","messageId":"msg-1"}
///
/// data: {"type":"start-step"}
///
/// data: {"type":"text-start","id":"text-1"}
///
/// data: {"type":"text-delta","id":"text-1","delta":"Hello"}
///
/// data: {"type":"text-end","id":"text-1"}
///
/// data: {"type":"finish-step"}
///
/// data: {"type":"finish"}
///
/// data: [DONE]
///
/// ```
///
/// Each element is one or more whole events: the first is `start` and `start-step`, each delta after it one
/// element (with the `text-start` it needs), and the last closes the open part and the step, then `finish` and
/// `[DONE]`. A source that throws ends the stream with an `error` chunk (its text from `errorText`) and
/// `[DONE]`, as the AI SDK's `createUIMessageStream` does: the encoder itself never throws, except a
/// `CancellationError` of a cancelled task, which it passes on.
public struct UIMessageStreamEncoder<Source: AsyncSequence>: AsyncSequence {
    /// One or more whole server-sent events.
    public typealias Element = String
    /// What iteration can throw: only a cancelled source's `CancellationError`.
    public typealias Failure = any Error

    private let source: Source
    private let part: @Sendable (Source.Element) -> UIMessageStreamPart
    private let messageID: String?
    private let errorText: @Sendable (any Error) -> String

    /// Encodes the parts of an answer.
    ///
    /// - Parameters:
    ///   - parts: the answer's parts, in order.
    ///   - messageID: the `messageId` of the `start` chunk: the id the client gives the assistant message (a
    ///     resumed copy gets the same one); `nil` lets the client make one up.
    ///   - errorText: the text of the `error` chunk for an error that `parts` throws; `nil` (the default)
    ///     writes `An error occurred.`, as the AI SDK does by default, so that the server's error details stay
    ///     on the server.
    public init(
        parts: Source, messageID: String?, errorText: (@Sendable (any Error) -> String)? = nil
    ) where Source.Element == UIMessageStreamPart {
        self.init(source: parts, part: { $0 }, messageID: messageID, errorText: errorText)
    }

    /// Encodes a text answer from its deltas (each one `text-delta`).
    ///
    /// - Parameters:
    ///   - textDeltas: the answer's text, piece by piece.
    ///   - messageID: the `messageId` of the `start` chunk; `nil` lets the client make one up.
    ///   - errorText: the text of the `error` chunk for an error that `textDeltas` throws; `nil` (the default)
    ///     writes `An error occurred.`.
    public init(
        textDeltas: Source, messageID: String?, errorText: (@Sendable (any Error) -> String)? = nil
    ) where Source.Element == String {
        self.init(source: textDeltas, part: { .textDelta($0) }, messageID: messageID, errorText: errorText)
    }

    private init(
        source: Source, part: @escaping @Sendable (Source.Element) -> UIMessageStreamPart, messageID: String?,
        errorText: (@Sendable (any Error) -> String)?
    ) {
        self.source = source
        self.part = part
        self.messageID = messageID
        self.errorText = errorText ?? { _ in "An error occurred." }
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source.makeAsyncIterator(), part: part, messageID: messageID, errorText: errorText)
    }

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var source: Source.AsyncIterator
        let part: @Sendable (Source.Element) -> UIMessageStreamPart
        let errorText: @Sendable (any Error) -> String
        var state: UIMessageStreamEncoderState

        init(
            source: Source.AsyncIterator, part: @escaping @Sendable (Source.Element) -> UIMessageStreamPart, messageID: String?,
            errorText: @escaping @Sendable (any Error) -> String
        ) {
            self.source = source
            self.part = part
            self.errorText = errorText
            state = UIMessageStreamEncoderState(messageID: messageID)
        }

        /// The next events, or `nil` after `[DONE]`.
        public mutating func next() async throws -> String? {
            if let opening = state.open() { return opening }
            while !state.isFinished {
                let element: Source.Element?
                do {
                    element = try await source.next()
                } catch {
                    if error is CancellationError { throw error }
                    return state.fail(errorText(error))
                }
                guard let element else { return state.finish() }
                if let events = state.encode(part(element)) { return events }
            }
            return nil
        }
    }
}

extension UIMessageStreamEncoder: Sendable where Source: Sendable {}
