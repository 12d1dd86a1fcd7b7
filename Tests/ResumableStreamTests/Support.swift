import Foundation
import RedisBridge
import RedisTestSupport
import ResumableStream
import Testing

/// The two backends every protocol test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case redis
    case inMemory

    var testDescription: String { rawValue }
}

/// A source that the test writes into: the counterpart of the TypeScript suite's testing stream.
final class Writer: Sendable {
    let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (stream, continuation) = AsyncStream<String>.makeStream()
    }

    func write(_ chunk: String) { continuation.yield(chunk) }
    func close() { continuation.finish() }

    /// The `makeStream` closure for the context.
    var source: @Sendable () async throws -> AsyncStream<String> {
        { [stream] in stream }
    }
}

/// A fresh key prefix for one test, as the TypeScript suite makes one per test.
func testPrefix() -> String { "test-resumable-stream-\(UUID().uuidString)" }

/// Runs `body` with a new context on `backend`, shutting it down afterwards.
func withContext<Result>(
    _ backend: Backend,
    configure: (inout ResumableStreamConfiguration) -> Void = { _ in },
    _ body: (ResumableStreamContext) async throws -> Result
) async throws -> Result {
    try await withContexts(backend, count: 1, configure: configure) { try await body($0[0]) }
}

/// Runs `body` with `count` contexts that share one backend and key prefix, as several instances of a
/// service share one Redis.
func withContexts<Result>(
    _ backend: Backend,
    count: Int,
    configure: (inout ResumableStreamConfiguration) -> Void = { _ in },
    _ body: ([ResumableStreamContext]) async throws -> Result
) async throws -> Result {
    var configuration = ResumableStreamConfiguration(keyPrefix: testPrefix())
    configure(&configuration)
    let memory = InMemoryBackend()
    let contexts = try (0..<count).map { _ in try makeContext(backend, configuration, sharing: memory) }
    do {
        let result = try await body(contexts)
        for context in contexts { await context.shutdown(gracePeriod: .seconds(5)) }
        return result
    } catch {
        for context in contexts { await context.shutdown(gracePeriod: .seconds(5)) }
        throw error
    }
}

/// A context on `backend`; in-process contexts made with the same `memory` share it, as instances share a Redis.
func makeContext(
    _ backend: Backend, _ configuration: ResumableStreamConfiguration, sharing memory: InMemoryBackend = InMemoryBackend()
) throws -> ResumableStreamContext {
    switch backend {
    case .redis: ResumableStreamContext(redis: try sharedConfiguration(), configuration: configuration)
    case .inMemory: ResumableStreamContext(configuration: configuration, publisher: memory, subscriber: memory)
    }
}

extension ResumableStreamResult {
    /// The stream of a `.created` result, or a recorded issue.
    func created(sourceLocation: SourceLocation = #_sourceLocation) throws -> ResumableTextStream {
        guard case .created(let stream) = self else {
            Issue.record("expected .created, got \(self)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return stream
    }

    /// The stream of a `.resumed` result, or a recorded issue.
    func resumed(sourceLocation: SourceLocation = #_sourceLocation) throws -> ResumableTextStream {
        guard case .resumed(let stream) = self else {
            Issue.record("expected .resumed, got \(self)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return stream
    }
}
