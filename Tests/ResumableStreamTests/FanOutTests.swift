@testable import ResumableStream
import Testing

/// The in-process backend behind a publisher that counts what it publishes to each channel, and that can act
/// just before an awaited `publish` goes out (`beforePublish` gets the backend, the message and the channel).
final class InstrumentedBackend: ResumableStreamPublisher, ResumableStreamSubscriber {
    let base = InMemoryBackend()
    private let counts = Locked<[String: Int]>([:])
    private let beforePublish: (@Sendable (InMemoryBackend, String, String) async throws -> Void)?

    init(beforePublish: (@Sendable (_ base: InMemoryBackend, _ message: String, _ channel: String) async throws -> Void)? = nil) {
        self.beforePublish = beforePublish
    }

    func publishes(to channel: String) -> Int { counts.withLock { $0[channel, default: 0] } }
    var allPublishes: [String: Int] { counts.withLock { $0 } }

    func setIfAbsent(_ key: String, to value: String, expiresIn: Duration) async throws -> Bool {
        try await base.setIfAbsent(key, to: value, expiresIn: expiresIn)
    }
    func increment(_ key: String) async throws -> Int? { try await base.increment(key) }
    func value(of key: String) async throws -> String? { try await base.value(of: key) }
    func setValue(_ value: String, for key: String, expiresIn: Duration?) async throws {
        try await base.setValue(value, for: key, expiresIn: expiresIn)
    }
    func setValue(_ value: String, for key: String, expiresIn: Duration, fencedBy fence: String, token: String) async throws -> Bool {
        try await base.setValue(value, for: key, expiresIn: expiresIn, fencedBy: fence, token: token)
    }
    func setExpiry(of key: String, to duration: Duration) async throws { try await base.setExpiry(of: key, to: duration) }
    func delete(_ key: String) async throws { try await base.delete(key) }
    func publish(_ message: String, to channel: String) async throws -> Int {
        try await beforePublish?(base, message, channel)
        counts.withLock { $0[channel, default: 0] += 1 }
        return try await base.publish(message, to: channel)
    }
    func enqueuePublish(_ message: String, to channel: String, onReceivers: (@Sendable (Int?) -> Void)?) {
        counts.withLock { $0[channel, default: 0] += 1 }
        base.enqueuePublish(message, to: channel, onReceivers: onReceivers)
    }
    func subscriberCount(of channel: String) async throws -> Int { try await base.subscriberCount(of: channel) }
    func textSubscription(to channel: String) async throws -> any AsyncSequence<ResumableStreamMessage, Never> & Sendable {
        try await base.textSubscription(to: channel)
    }
}

@Suite("Fan-out to followers", .timeLimit(.minutes(1)))
struct FanOutTests {
    @Test func followerThatLeftIsDroppedAfterAPublishReachesNobody() async throws {
        let backend = InstrumentedBackend()
        let context = ResumableStreamContext(configuration: .init(keyPrefix: "fanout"), publisher: backend, subscriber: backend)
        let writer = Writer()
        let producer = try await context.resumableStream("s", makeStream: writer.source).created()
        var own = producer.makeAsyncIterator()
        do {
            let follower = try await context.resumableStream("s", makeStream: writer.source).resumed()
            let reader = Task { for try await _ in follower {} }
            reader.cancel()
            _ = await reader.result
        }
        let listenerChannels = { backend.allPublishes.keys.filter { $0.contains(":rs:chunk:") } }
        for index in 0..<50 {
            writer.write("chunk \(index)")
            _ = try await own.next()
        }
        writer.close()
        _ = try await own.next()
        #expect(await context.drain(timeout: .seconds(5)))
        // Per listener channel (a slow handshake may have asked twice): the replay, then at most the first
        // chunk that found nobody; not 50 chunks and a DONE.
        #expect(!listenerChannels().isEmpty)
        for channel in listenerChannels() { #expect(backend.publishes(to: channel) <= 3, "\(channel)") }
        await context.shutdown(gracePeriod: .seconds(1))
    }

    @Test func tenFollowersGetEveryChunkInOrder() async throws {
        let backend = InstrumentedBackend()
        let context = ResumableStreamContext(configuration: .init(keyPrefix: "fanout"), publisher: backend, subscriber: backend)
        let writer = Writer()
        let producer = try await context.resumableStream("s", makeStream: writer.source).created()
        let followers = try await (0..<10).asyncMap { _ in try await context.resumeExistingStream("s").resumed() }
        let text = (0..<1000).map { "t\($0) " }
        for chunk in text { writer.write(chunk) }
        writer.close()
        #expect(try await producer.collect() == text.joined())
        for follower in followers { #expect(try await follower.collect() == text.joined()) }
        await context.shutdown(gracePeriod: .seconds(1))
    }
}
