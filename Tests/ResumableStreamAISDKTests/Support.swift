import Foundation
import Logging
import RedisTestSupport
import ResumableStream
import ResumableStreamAISDK
import Testing

/// The backends the chat tests run against: a real redis-server, and the in-process backend.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case redis
    case inMemory

    var testDescription: String { rawValue }
}

/// Runs `body` with `count` chat facades on contexts that share one backend and key prefix, as instances of a
/// service share one Redis, and shuts the contexts down afterwards.
func withChats<Result>(
    _ backend: Backend = .redis,
    count: Int,
    keepAlive: Duration? = nil,
    configure: (inout ResumableStreamConfiguration) -> Void = { _ in },
    _ body: ([AIChatStreams]) async throws -> Result
) async throws -> Result {
    var configuration = ResumableStreamConfiguration(keyPrefix: "test-ai-sdk-\(UUID().uuidString)", ackTimeout: .seconds(10))
    configure(&configuration)
    let memory = InMemoryBackend()
    let contexts = try (0..<count).map { _ in
        switch backend {
        case .redis:
            ResumableStreamContext(redis: try sharedConfiguration(), configuration: configuration, logger: Logger(label: "ai-sdk-tests"))
        case .inMemory:
            ResumableStreamContext(configuration: configuration, publisher: memory, subscriber: memory, logger: Logger(label: "ai-sdk-tests"))
        }
    }
    do {
        let result = try await body(contexts.map { AIChatStreams(context: $0, keepAlive: keepAlive) })
        for context in contexts { await context.shutdown(gracePeriod: .seconds(5)) }
        return result
    } catch {
        for context in contexts { await context.shutdown(gracePeriod: .seconds(5)) }
        throw error
    }
}

/// A source of text deltas that the test writes into.
final class DeltaWriter: Sendable {
    let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (stream, continuation) = AsyncStream<String>.makeStream()
    }

    func write(_ delta: String) { continuation.yield(delta) }
    func close() { continuation.finish() }

    /// The `makeTextDeltas` closure.
    var deltas: @Sendable () async throws -> AsyncStream<String> {
        { [stream] in stream }
    }
}

/// What a failing model throws.
struct ModelFailure: Error {}

/// A source that yields `deltas`, then throws ``ModelFailure``.
struct FailingDeltas: AsyncSequence, Sendable {
    let deltas: [String]

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: deltas[...]) }

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<String>

        mutating func next() async throws -> String? {
            guard let delta = remaining.popFirst() else { throw ModelFailure() }
            return delta
        }
    }
}

/// A UI message stream as the AI SDK's parser reads it: the JSON chunks, in order, and whether `[DONE]` ended
/// it. Records an issue for anything the AI SDK would reject: a line other than `data: ` (comments aside), a
/// chunk that is not a JSON object with a string `type`, anything after `[DONE]`.
struct ParsedUIMessageStream {
    var chunks: [[String: Any]] = []
    var endsWithDone = false

    init(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(body.hasSuffix("\n\n"), "the body ends mid-event", sourceLocation: sourceLocation)
        for event in body.components(separatedBy: "\n\n") where !event.isEmpty {
            if event.hasPrefix(":") { continue }
            #expect(!endsWithDone, "an event after [DONE]: \(event)", sourceLocation: sourceLocation)
            guard event.hasPrefix("data: "), !event.dropFirst(6).contains("\n") else {
                Issue.record("not one data line: \(event.debugDescription)", sourceLocation: sourceLocation)
                continue
            }
            let data = String(event.dropFirst(6))
            if data == "[DONE]" {
                endsWithDone = true
                continue
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any], object["type"] is String else {
                Issue.record("not a JSON chunk with a type: \(data)", sourceLocation: sourceLocation)
                continue
            }
            chunks.append(object)
        }
    }

    /// The chunks' types, in order.
    var types: [String] { chunks.map { $0["type"] as? String ?? "" } }

    /// The concatenated `delta`s of the `text-delta` chunks.
    var text: String {
        chunks.filter { $0["type"] as? String == "text-delta" }.map { $0["delta"] as? String ?? "" }.joined()
    }

    /// The types of a text answer with `deltas` deltas that ended normally.
    static func textAnswerTypes(deltas: Int) -> [String] {
        ["start", "start-step", "text-start"] + Array(repeating: "text-delta", count: deltas) + ["text-end", "finish-step", "finish"]
    }
}

extension AIChatStreams.Resume {
    /// The body of a `.stream` result, or a recorded issue.
    func body(sourceLocation: SourceLocation = #_sourceLocation) throws -> UIMessageStreamBody {
        guard case .stream(let body) = self else {
            Issue.record("expected .stream, got \(self)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return body
    }

    /// Whether it is `.noContent`.
    var isNoContent: Bool {
        if case .noContent = self { true } else { false }
    }
}

/// Reads `count` events (keep-alive comments aside) of `iterator` into one string.
func read(_ count: Int, from iterator: inout UIMessageStreamBody.AsyncIterator) async -> String {
    var text = ""
    var events = 0
    while events < count, let next = await iterator.next() {
        text += next
        events += next.components(separatedBy: "\n\n").filter { !$0.isEmpty && !$0.hasPrefix(":") }.count
    }
    return text
}
