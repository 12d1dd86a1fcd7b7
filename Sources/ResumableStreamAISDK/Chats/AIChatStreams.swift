@_spi(Extensions) import ResumableStream

/// Resumable answers for the Vercel AI SDK's `useChat({ resume: true })`: the three routes of a chat backend
/// in a few lines each, on any instance behind a load balancer.
///
/// ```swift
/// let chats = AIChatStreams(context: streams)
///
/// // POST /api/chat: a new answer (a regenerated one too) in the chat `id` of the body.
/// let body = try await chats.startAnswer(chatID: id) { try await model.streamText(messages) }
/// respond(200, headers: UIMessageStreamHeaders.all, body: body)  // the body written event by event
///
/// // GET /api/chat/{id}/stream: useChat asks on mount.
/// switch try await chats.resumeAnswer(chatID: id) {
/// case .stream(let body): respond(200, headers: UIMessageStreamHeaders.all, body: body)
/// case .noContent: respond(204)
/// case .producerUnreachable: respond(503)
/// }
///
/// // POST /api/chat/{id}/stop: the stop button (useChat's own stop() only drops the connection).
/// try await chats.stopAnswer(chatID: id)
/// ```
///
/// Each answer is a resumable stream of its own, `<chatID>:<random>`, whose text is the answer already encoded
/// as the UI message stream (the SSE bytes the client reads): a resume from offset 0 replays exactly the bytes
/// of the answer from its start, and any instance forwards them without decoding anything. The chat's active
/// answer is a key beside the context's streams (`<keyPrefix>:rs:ai-chat:<chatID>`): set when an answer
/// starts, cleared when it ends only if it still names that answer, read by ``resumeAnswer(chatID:)``.
///
/// The answer runs to its end whether or not anyone reads it (the context owns it): a client that drops the
/// connection, closes the tab or calls `stop()` in `useChat` leaves it running, and comes back to it with a
/// resume. Only ``stopAnswer(chatID:streamID:)`` stops it.
public struct AIChatStreams: Sendable {
    /// The context that runs and follows the answers' streams.
    public let context: ResumableStreamContext
    /// How often a silent answer's body sends a keep-alive comment; `nil` sends none.
    public let keepAlive: Duration?
    private let errorText: (@Sendable (any Error) -> String)?
    private let answers: ActiveAnswers

    /// Answers on `context`, whose key prefix they share.
    ///
    /// - Parameters:
    ///   - context: the process's one context.
    ///   - keepAlive: while an answer is silent (the model thinks), a `: keep-alive` comment goes out this
    ///     often, so that proxies and load balancers keep the response open; `nil` sends none. Default 15 s.
    ///   - activeAnswerExpiry: how long a chat's active-answer key lives if nothing clears it (the process died
    ///     mid-answer): longer than any answer runs. Default 24 hours.
    ///   - errorText: the text the client is shown for an error that an answer's source throws; `nil` (the
    ///     default) shows `An error occurred.`, as the AI SDK does, so that the server's error details stay on
    ///     the server.
    public init(
        context: ResumableStreamContext,
        keepAlive: Duration? = .seconds(15),
        activeAnswerExpiry: Duration = .seconds(24 * 60 * 60),
        errorText: (@Sendable (any Error) -> String)? = nil
    ) {
        self.context = context
        self.keepAlive = keepAlive
        self.errorText = errorText
        answers = ActiveAnswers(publisher: context.commandPublisher, keyPrefix: context.configuration.keyPrefix, expiry: activeAnswerExpiry)
    }

    /// Starts a new text answer in `chatID`, which becomes the chat's active answer (replacing any other: a
    /// regenerated answer), and returns the body of the `POST` response.
    ///
    /// `makeTextDeltas` is called once, in the producer's task; what it returns is the answer's text, piece by
    /// piece (each piece one `text-delta`). If it throws, or its sequence does, the answer ends with an `error`
    /// chunk and `[DONE]`.
    ///
    /// - Parameters:
    ///   - chatID: the chat's id (the `id` of the request's JSON body).
    ///   - messageID: the `messageId` of the answer's `start` chunk, which the client gives the assistant
    ///     message (store the answer under it); `nil` makes a fresh one.
    ///   - makeTextDeltas: makes the answer's text.
    /// - Throws: `ResumableStreamError.emptyStreamID` for an empty `chatID`, the context's errors (Redis is
    ///   unreachable, the context shuts down: `ResumableStreamContext.isUnavailable(_:)` says so).
    public func startAnswer<Deltas: AsyncSequence & SendableMetatype>(
        chatID: String,
        messageID: String? = nil,
        makeTextDeltas: @escaping @Sendable () async throws -> Deltas
    ) async throws -> UIMessageStreamBody where Deltas.Element == String {
        let errorText = errorText
        return try await start(chatID: chatID, messageID: messageID) { messageID in
            UIMessageStreamEncoder(textDeltas: DeferredSequence(make: makeTextDeltas), messageID: messageID, errorText: errorText)
        }
    }

    /// Starts a new answer in `chatID` from its parts (text, reasoning, metadata, errors), which becomes the
    /// chat's active answer, and returns the body of the `POST` response; see
    /// ``startAnswer(chatID:messageID:makeTextDeltas:)``.
    public func startAnswer<Parts: AsyncSequence & SendableMetatype>(
        chatID: String,
        messageID: String? = nil,
        makeParts: @escaping @Sendable () async throws -> Parts
    ) async throws -> UIMessageStreamBody where Parts.Element == UIMessageStreamPart {
        let errorText = errorText
        return try await start(chatID: chatID, messageID: messageID) { messageID in
            UIMessageStreamEncoder(parts: DeferredSequence(make: makeParts), messageID: messageID, errorText: errorText)
        }
    }

    private func start<Events: AsyncSequence & SendableMetatype>(
        chatID: String,
        messageID: String?,
        makeEvents: @escaping @Sendable (String) -> Events
    ) async throws -> UIMessageStreamBody where Events.Element == String {
        guard !chatID.isEmpty else { throw ResumableStreamError.emptyStreamID }
        let streamID = AnswerStreamID.make(chatID: chatID)
        let messageID = messageID ?? AnswerStreamID.makeMessageID()
        let answers = answers
        // Before the stream exists, so that the answer's end, which clears it, always comes after.
        try await answers.activate(streamID, for: chatID)
        do {
            let stream = try await context.createNewResumableStream(streamID) {
                AnswerSource(events: makeEvents(messageID)) { try? await answers.clear(streamID, for: chatID) }
            }
            return UIMessageStreamBody(stream, streamID: streamID, keepAlive: keepAlive)
        } catch {
            try? await answers.clear(streamID, for: chatID)
            throw error
        }
    }

    /// The answer in progress in `chatID`, from its start and then live, for `useChat`'s resume request
    /// (`GET {api}/{chatID}/stream`); see ``Resume`` for the response of each case.
    ///
    /// An answer that finished, even a moment ago, or was stopped, is ``Resume/noContent``: the client has it
    /// from the request that started it, or from the application's store of messages.
    public func resumeAnswer(chatID: String) async throws -> Resume {
        guard !chatID.isEmpty, let streamID = try await answers.streamID(of: chatID) else { return .noContent }
        // Without skipCharacters: a finished stream is `alreadyDone`, never its retained text.
        switch try await context.resumeExistingStream(streamID) {
        case .resumed(let stream), .created(let stream):
            return .stream(UIMessageStreamBody(stream, streamID: streamID, keepAlive: keepAlive))
        case .finished, .alreadyDone, .notFound:
            return .noContent
        case .producerUnreachable:
            return .producerUnreachable
        }
    }

    /// Stops `chatID`'s answer in progress, whichever instance runs it, and clears it as the chat's active
    /// answer: its readers get an `abort` chunk and `[DONE]`. Returns whether there was an answer to stop.
    ///
    /// - Parameters:
    ///   - chatID: the chat.
    ///   - streamID: the answer the client means (``UIMessageStreamBody/streamID``, if the application sent it
    ///     to the client), so that a stop that arrives after a newer answer started does not stop that one;
    ///     `nil` stops whichever answer is active.
    @discardableResult
    public func stopAnswer(chatID: String, streamID: String? = nil) async throws -> Bool {
        guard !chatID.isEmpty, let active = try await answers.streamID(of: chatID) else { return false }
        if let streamID, streamID != active { return false }
        let outcome = try await context.stop(active)
        try await answers.clear(active, for: chatID)
        return outcome == .stopping || outcome == .awaitingProducer
    }

    /// The stream id of `chatID`'s active answer (``UIMessageStreamBody/streamID``), `nil` if none was started
    /// or the last one ended. An answer whose producer died keeps its id until its key expires.
    public func activeStreamID(chatID: String) async throws -> String? {
        guard !chatID.isEmpty else { return nil }
        return try await answers.streamID(of: chatID)
    }
}
