import Foundation
import ResumableStream
import Synchronization

/// When each token of one stream left its source, so that a follower can tell how long it took to arrive.
final class TokenTimes: Sendable {
    private let times: Mutex<[ContinuousClock.Instant]>

    init(capacity: Int) {
        times = Mutex([])
        times.withLock { $0.reserveCapacity(capacity) }
    }

    func emitted() {
        times.withLock { $0.append(.now) }
    }

    /// The latencies of tokens `range` (indices), received now, in microseconds.
    func latencies(of range: Range<Int>, receivedAt now: ContinuousClock.Instant) -> [Double] {
        times.withLock { times in range.map { Measure.microseconds(now - times[$0]) } }
    }
}

/// Paces the tokens of many streams from one task, as a network would wake them, without a timer per token
/// (Swift's `Task.sleep` costs more than a token's whole trip through the library): every millisecond it lets
/// the streams whose turn it is take their next token, each stream once per `interval`.
struct TokenPacer {
    let ticks: [AsyncStream<Void>]
    private let continuations: [AsyncStream<Void>.Continuation]

    init(streams: Int) {
        (ticks, continuations) = (0..<streams).map { _ in AsyncStream<Void>.makeStream() }.reduce(into: ([], [])) {
            $0.0.append($1.stream)
            $0.1.append($1.continuation)
        }
    }

    /// Releases `tokens` tokens to every stream, then ends their ticks.
    func run(tokens: Int, interval: Duration) async {
        let steps = Int(interval / .milliseconds(1))
        var deadline = ContinuousClock.now
        for step in 0..<(tokens * steps) {
            try? await Task.sleep(until: deadline, clock: .continuous)
            deadline += .milliseconds(1)
            for index in stride(from: step % steps, to: continuations.count, by: steps) { continuations[index].yield() }
        }
        for continuation in continuations { continuation.finish() }
    }
}

/// A stream's tokens of 4 bytes, one per tick of its pacer, recording when each one leaves.
struct TimedTokens: AsyncSequence, Sendable {
    typealias Element = String
    let ticks: AsyncStream<Void>
    let times: TokenTimes

    static func token(_ index: Int) -> String { "t\(index % 10)x " }

    func makeAsyncIterator() -> Iterator { Iterator(ticks: ticks.makeAsyncIterator(), times: times) }

    struct Iterator: AsyncIteratorProtocol {
        var ticks: AsyncStream<Void>.Iterator
        let times: TokenTimes
        var index = 0

        mutating func next() async -> String? {
            guard await ticks.next() != nil else { return nil }
            defer { index += 1 }
            times.emitted()
            return TimedTokens.token(index)
        }
    }
}

/// 8. Streams of LLM shape as a chat service has them: 200 streams of 2,000 tokens of 4 bytes at 50 tokens a
/// second, spread over the token interval, each with 3 followers in another context (another instance, two
/// connections of its own): the CPU this process spends (of one core) and how long a token takes from its
/// source to each follower. The baseline is the same paced sources read directly.
func llmShapedStreams(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    let (streamCount, tokenCount, followerCount) = (bench.scaled(200), bench.quick ? 200 : 2000, 3)
    let interval = Duration.milliseconds(20)
    let producing = bench.context()
    let following = ResumableStreamContext(redis: bench.redis, configuration: producing.configuration)
    let expected = (0..<tokenCount).map(TimedTokens.token).joined()
    // A quarter of the tokens is enough for the baseline: what it measures is per second.
    let sourcesAlone = await measuringCPU {
        let pacer = TokenPacer(streams: streamCount)
        await withTaskGroup(of: Void.self) { group in
            for ticks in pacer.ticks {
                group.addTask { for await _ in TimedTokens(ticks: ticks, times: TokenTimes(capacity: tokenCount / 4)) {} }
            }
            await pacer.run(tokens: tokenCount / 4, interval: interval)
        }
    }
    let pacer = TokenPacer(streams: streamCount)
    // Every stream and its followers are set up before the pacer starts.
    let streams = try await pacer.ticks.enumerated().asyncMap { index, ticks in
        let times = TokenTimes(capacity: tokenCount)
        let own = try await producing.resumableStream("llm-\(index)") { TimedTokens(ticks: ticks, times: times) }.requiredStream()
        let followers = try await (0..<followerCount).asyncMap { _ in
            try await following.resumeExistingStream("llm-\(index)").requiredStream()
        }
        return (own: own, followers: followers, times: times)
    }
    let run = try await measuringCPU {
        try await withThrowingTaskGroup(of: (latencies: [Double], correct: Bool).self) { group in
            for stream in streams {
                group.addTask { (latencies: [], correct: try await stream.own.collect() == expected) }
                for follower in stream.followers {
                    group.addTask {
                        var (text, latencies, tokens) = ("", [Double](), 0)
                        for try await chunk in follower {
                            text += chunk
                            let received = text.utf8.count / 4
                            latencies += stream.times.latencies(of: tokens..<received, receivedAt: .now)
                            tokens = received
                        }
                        return (latencies, text == expected)
                    }
                }
            }
            await pacer.run(tokens: tokenCount, interval: interval)
            return try await group.reduce(into: [(latencies: [Double], correct: Bool)]()) { $0.append($1) }
        }
    }
    await producing.shutdown(gracePeriod: .seconds(10))
    await following.shutdown(gracePeriod: .seconds(10))
    let latencies = run.result.flatMap(\.latencies)
    let (p50, p99) = (Measure.percentile(latencies, 0.5), Measure.percentile(latencies, 0.99))
    let tokensPerSecond = Double(streamCount * tokenCount * (1 + followerCount)) / run.seconds
    return [
        Row(
            scenario: "8", figure: "\(streamCount) streams x \(tokenCount) tokens at 50/s, 3 followers each",
            measured: String(format: "CPU %.0f %% of a core; token to follower p50 %.0f µs, p99 %.0f µs", run.cpu * 100, p50, p99),
            baseline: String(
                format: "the paced sources alone: CPU %.0f %%; %.0f k tokens/s delivered (own readers and followers)",
                sourcesAlone.cpu * 100, tokensPerSecond / 1e3),
            ratio: run.cpu / sourcesAlone.cpu, target: "", met: nil, correct: run.result.allSatisfy(\.correct))
    ]
}
