extension AIChatStreams {
    /// What ``AIChatStreams/resumeAnswer(chatID:)`` found, and the response each case gets.
    public enum Resume: Sendable {
        /// An answer is in progress: respond `200` with ``UIMessageStreamHeaders`` and this body, the answer
        /// from its start and then live.
        case stream(UIMessageStreamBody)
        /// No answer is in progress (none was started, the last one finished or was stopped, or expired):
        /// respond `204`, on which `useChat` resumes nothing.
        case noContent
        /// An answer is in progress according to Redis, but the instance producing it did not answer within
        /// the context's ack timeout: it died, or cannot reach Redis. Respond `503`, which `useChat` shows as an
        /// error (the user can regenerate); once the dead producer's stream expires (the context's running TTL,
        /// 5 minutes by default), a resume finds nothing and gets `204`.
        case producerUnreachable

        /// The HTTP status of the response: 200, 204 or 503.
        public var status: Int {
            switch self {
            case .stream: 200
            case .noContent: 204
            case .producerUnreachable: 503
            }
        }
    }
}
