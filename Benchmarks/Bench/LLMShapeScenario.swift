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

/// `count` tokens of 4 bytes at `perSecond`, recording when each one leaves.
struct TimedTokens: AsyncSequence, Sendable {
    typealias Element = String
    let count: Int
    let interval: Duration
    let times: TokenTimes

    static func token(_ index: Int) -> String { "t\(index % 10)x " }

    func makeAsyncIterator() -> Iterator { Iterator(source: self, next: .now) }

    struct Iterator: AsyncIteratorProtocol {
        let source: TimedTokens
        var next: ContinuousClock.Instant
        var index = 0

        mutating func next() async -> String? {
            guard index < source.count else { return nil }
            try? await Task.sleep(until: next, clock: .continuous)
            next += source.interval
            defer { index += 1 }
            source.times.emitted()
            return TimedTokens.token(index)
        }
    }
}

/// 8. Streams of LLM shape as a chat service has them: 200 streams of 2,000 tokens of 4 bytes at 50 tokens a
/// second, started over one token interval, each with 3 followers in another context (another instance, two
/// connections of its own): the CPU this process spends (of one core) and how long a token takes from its
/// source to each follower.
func llmShapedStreams(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    let (streamCount, tokenCount, followerCount) = (bench.scaled(200), bench.quick ? 200 : 2000, 3)
    let interval = Duration.milliseconds(20)
    let producing = bench.context()
    let following = ResumableStreamContext(redis: bench.redis, configuration: producing.configuration)
    let expected = (0..<tokenCount).map(TimedTokens.token).joined()
    // The baseline: the same sources read directly, for a quarter of the tokens (the CPU is per second).
    let sourcesAlone = await measuringCPU {
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<streamCount {
                group.addTask {
                    try? await Task.sleep(for: interval * Double(index) / Double(streamCount))
                    let source = TimedTokens(count: tokenCount / 4, interval: interval, times: TokenTimes(capacity: tokenCount / 4))
                    for await _ in source {}
                }
            }
        }
    }
    let run = try await measuringCPU {
        try await withThrowingTaskGroup(of: (latencies: [Double], correct: Bool).self) { group in
            for index in 0..<streamCount {
                group.addTask {
                    try await Task.sleep(for: interval * Double(index) / Double(streamCount))
                    let times = TokenTimes(capacity: tokenCount)
                    let source = TimedTokens(count: tokenCount, interval: interval, times: times)
                    let (gate, open) = AsyncStream<Void>.makeStream()
                    let own = try await producing.resumableStream("llm-\(index)") { () -> TimedTokens in
                        for await _ in gate {}
                        return source
                    }.requiredStream()
                    let followers = try await (0..<followerCount).asyncMap { _ in
                        try await following.resumeExistingStream("llm-\(index)").requiredStream()
                    }
                    open.finish()
                    return try await withThrowingTaskGroup(of: (latencies: [Double], text: String).self) { readers in
                        readers.addTask { (latencies: [], text: try await own.collect()) }
                        for follower in followers {
                            readers.addTask {
                                var (text, latencies, tokens) = ("", [Double](), 0)
                                for try await chunk in follower {
                                    text += chunk
                                    let received = text.utf8.count / 4
                                    latencies += times.latencies(of: tokens..<received, receivedAt: .now)
                                    tokens = received
                                }
                                return (latencies, text)
                            }
                        }
                        return try await readers.reduce(into: (latencies: [Double](), correct: true)) { result, read in
                            result.latencies += read.latencies
                            result.correct = result.correct && read.text == expected
                        }
                    }
                }
            }
            return try await group.reduce(into: [(latencies: [Double], correct: Bool)]()) { $0.append($1) }
        }
    }
    let results = run.result
    await producing.shutdown(gracePeriod: .seconds(10))
    await following.shutdown(gracePeriod: .seconds(10))
    let latencies = results.flatMap(\.latencies)
    let (p50, p99) = (Measure.percentile(latencies, 0.5), Measure.percentile(latencies, 0.99))
    let tokensPerSecond = Double(streamCount * tokenCount * (1 + followerCount)) / run.seconds
    return [Row(
        scenario: "8", figure: "\(streamCount) streams x \(tokenCount) tokens at 50/s, 3 followers each",
        measured: String(format: "CPU %.0f %% of a core; token to follower p50 %.0f µs, p99 %.0f µs", run.cpu * 100, p50, p99),
        baseline: String(format: "the sources alone: CPU %.0f %%; %.0f k tokens/s delivered (own readers and followers)",
                         sourcesAlone.cpu * 100, tokensPerSecond / 1e3),
        ratio: run.cpu / sourcesAlone.cpu, target: "", met: nil, correct: results.allSatisfy(\.correct))]
}

/// What `body` returned, the share of one core this process used while it ran, and how long it ran.
private func measuringCPU<Result>(_ body: () async throws -> Result) async rethrows -> (result: Result, cpu: Double, seconds: Double) {
    let (cpuBefore, started) = (Measure.processCPUSeconds(), ContinuousClock.now)
    let result = try await body()
    let seconds = Measure.seconds(ContinuousClock.now - started)
    return (result, (Measure.processCPUSeconds() - cpuBefore) / seconds, seconds)
}
