import Tracing

/// The spans of a context's calls: one per `resumableStream`, `createNewResumableStream` and
/// `resumeExistingStream`, covering the handshake (not the stream, which outlives the call), with the
/// OpenTelemetry messaging conventions where they apply (`messaging.system`, `messaging.destination.name`:
/// the stream's request channel) and the stream's own attributes.
struct StreamTracing: Sendable {
    /// The tracer given to the context, or `nil` for the one bootstrapped with `InstrumentationSystem`, read
    /// at each call so that a bootstrap after the context was made still counts.
    let tracer: (any Tracer)?

    /// The stream's id.
    static let streamIDAttribute = "resumable_stream.id"
    /// The characters a resume skips, when it gives a number.
    static let skipAttribute = "resumable_stream.skip_characters"
    /// What the call gave: `created`, `resumed`, `finished`, `already_done`, `not_found` or
    /// `producer_unreachable`.
    static let outcomeAttribute = "resumable_stream.outcome"

    /// Runs `body` in a span named `operation`; `outcome` names what it returned (an error is recorded by the
    /// span and rethrown).
    func span<Result>(
        _ operation: String,
        kind: SpanKind,
        keys: StreamKeys,
        skipCharacters: Int? = nil,
        outcome: @escaping (Result) -> String,
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await (tracer ?? InstrumentationSystem.tracer).withSpan(operation, ofKind: kind) { span in
            span.attributes["messaging.system"] = "redis"
            span.attributes["messaging.destination.name"] = keys.requests
            span.attributes[Self.streamIDAttribute] = keys.id
            if let skipCharacters { span.attributes[Self.skipAttribute] = skipCharacters }
            let result = try await body()
            span.attributes[Self.outcomeAttribute] = outcome(result)
            return result
        }
    }
}
