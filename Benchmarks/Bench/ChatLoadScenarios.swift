import Foundation
import ResumableStream
import Synchronization

/// A chat server's load: many streams, each a trickle of 4-byte tokens at a model's pace, each read by its own
/// reader and by one follower, in one process. Run in a child process of its own (``runInChildProcess(_:_:)``)
/// twice: through the library, and the same paced sources read directly (the baseline), each reader checking and
/// timing its tokens as a follower does, so that what the library adds is the difference of the two, in CPU and
/// in peak memory.
struct ChatLoad: Codable {
    var streams: Int
    var tokens: Int
    /// Each stream's time between two tokens, in milliseconds.
    var intervalMilliseconds: Int
    /// Through the library, or the paced sources alone.
    var throughLibrary: Bool

    /// What one run measured.
    struct Figures: Codable {
        /// CPU of the run, user and system, from the first token released to the last one read.
        var cpuSeconds: Double
        var seconds: Double
        /// Peak RSS during the setup and the run, beyond the RSS before them.
        var peakBytes: Int
        /// RSS once every stream was set up and its readers wait, before the first token, beyond the RSS before
        /// them.
        var idleBytes: Int
        /// Token to follower, p50 and p99, in microseconds (through the library only).
        var latencyP50: Double?
        var latencyP99: Double?
        /// The connections the library opened (through the library only).
        var connections: Int?
        var correct: Bool
    }

    // The readers are tasks of their own, not a task group's children: a group of 200,000 children spends
    // minutes of CPU in the runtime removing each finished child from its list.

    /// How many stream setups are in flight at once.
    private static let setupWidth = 256

    func run(_ bench: Bench) async throws -> Figures {
        let pacer = TokenPacer(streams: streams)
        let interval = Duration.milliseconds(intervalMilliseconds)
        let connectionsBefore = try await Measure.infoField(bench.commands, "clients", "connected_clients")
        let before = Measure.memory("VmRSS")
        Measure.resetPeakMemory()
        let expected = TextHash.of((0..<tokens).map(TimedTokens.token).joined())
        guard throughLibrary else {
            let times = (0..<streams).map { _ in TokenTimes(capacity: tokens) }
            let started = ReadersStarted()
            // Each reader checks and times its tokens as a follower does, so that the difference is the library's.
            let readers = zip(pacer.ticks, times).map { ticks, times in
                Task {
                    started.begin()
                    return try await Self.read(TimedTokens(ticks: ticks, times: times), timedBy: times)
                }
            }
            await started.wait(for: readers.count)
            let idle = Measure.memory("VmRSS")
            let run = try await measuringCPU {
                await pacer.run(tokens: tokens, interval: interval)
                var results: [(latencies: [Double], hash: TextHash)] = []
                for reader in readers { results.append(try await reader.value) }
                return results
            }
            return Figures(
                cpuSeconds: run.cpu * run.seconds, seconds: run.seconds, peakBytes: Measure.memory("VmHWM") - before,
                idleBytes: idle - before, latencyP50: nil, latencyP99: nil, connections: nil,
                correct: run.result.allSatisfy { $0.hash == expected })
        }
        let context = bench.context()
        // Every stream and its follower are set up before the pacer starts.
        let streams = try await withThrowingTaskGroup(of: (ResumableTextStream, ResumableTextStream, TokenTimes).self) { group in
            var (started, streams) = (0, [(ResumableTextStream, ResumableTextStream, TokenTimes)]())
            func add(_ index: Int) {
                let ticks = pacer.ticks[index]
                group.addTask {
                    let times = TokenTimes(capacity: tokens)
                    let own = try await context.resumableStream("chat-\(index)") { TimedTokens(ticks: ticks, times: times) }
                        .requiredStream()
                    let follower = try await context.resumeExistingStream("chat-\(index)").requiredStream()
                    return (own, follower, times)
                }
            }
            while started < min(Self.setupWidth, self.streams) { add(started); started += 1 }
            while let stream = try await group.next() {
                streams.append(stream)
                if started < self.streams { add(started); started += 1 }
            }
            return streams
        }
        let connections = try await Measure.infoField(bench.commands, "clients", "connected_clients") - connectionsBefore
        let started = ReadersStarted()
        let readers = streams.flatMap { own, follower, times in
            [
                Task {
                    started.begin()
                    return (latencies: [Double](), correct: try await own.hash() == expected)
                },
                Task {
                    started.begin()
                    let (latencies, hash) = try await Self.read(follower, timedBy: times)
                    return (latencies: latencies, correct: hash == expected)
                },
            ]
        }
        await started.wait(for: readers.count)
        let idle = Measure.memory("VmRSS")
        let run = try await measuringCPU {
            await pacer.run(tokens: tokens, interval: interval)
            var results: [(latencies: [Double], correct: Bool)] = []
            for reader in readers { results.append(try await reader.value) }
            return results
        }
        let peak = Measure.memory("VmHWM")
        await context.shutdown(gracePeriod: .seconds(10))
        let latencies = run.result.flatMap(\.latencies)
        return Figures(
            cpuSeconds: run.cpu * run.seconds, seconds: run.seconds, peakBytes: peak - before, idleBytes: idle - before,
            latencyP50: Measure.percentile(latencies, 0.5), latencyP99: Measure.percentile(latencies, 0.99),
            connections: connections, correct: run.result.allSatisfy(\.correct))
    }

    /// Reads `stream` to its end: its text's hash, and each token's time from its source to here.
    private static func read<Stream: AsyncSequence>(
        _ stream: Stream, timedBy times: TokenTimes
    ) async throws -> (latencies: [Double], hash: TextHash) where Stream.Element == String {
        var (hash, latencies, tokens) = (TextHash(), [Double](), 0)
        for try await chunk in stream {
            hash.add(chunk)
            let received = hash.count / 4
            latencies += times.latencies(of: tokens..<received, receivedAt: .now)
            tokens = received
        }
        return (latencies, hash)
    }

    /// Runs this load in a child process, through the library and then the sources alone: the library's figures
    /// and the baseline's.
    func compared(_ bench: Bench) throws -> (library: Figures, sources: Figures) {
        var sources = self
        sources.throughLibrary = false
        var library = self
        library.throughLibrary = true
        return (try runInChildProcess(bench, .chatLoad(library)), try runInChildProcess(bench, .chatLoad(sources)))
    }
}

/// Counts the readers that began, so that the pacing starts once every reader waits for its first token, as a
/// server's readers do, rather than while 200,000 tasks are still being started.
final class ReadersStarted: Sendable {
    private let count = Atomic(0)

    func begin() {
        count.add(1, ordering: .relaxed)
    }

    /// Returns once `readers` began, and a moment more for the last of them to reach their first wait.
    func wait(for readers: Int) async {
        while count.load(ordering: .relaxed) < readers { try? await Task.sleep(for: .milliseconds(10)) }
        try? await Task.sleep(for: .milliseconds(200))
    }
}

/// 13. The LLM shape of a chat server (issue 21): 1,000 streams of 100 tokens at 50 tokens a second, each with
/// its own reader and one follower: the CPU per token and the memory per stream the library adds to the paced
/// sources alone.
func chatServerLoad(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    let load = ChatLoad(streams: bench.scaled(1000), tokens: 100, intervalMilliseconds: 20, throughLibrary: true)
    let (library, sources) = try load.compared(bench)
    let tokens = Double(load.streams * load.tokens)
    let cpuPerToken = (library.cpuSeconds - sources.cpuSeconds) / tokens * 1e6
    let bytesPerStream = Double(library.peakBytes - sources.peakBytes) / Double(load.streams)
    let idlePerStream = Double(library.idleBytes - sources.idleBytes) / Double(load.streams)
    return [
        Row(
            scenario: "13", figure: "\(load.streams) streams x \(load.tokens) tokens at 50/s, 1 follower: CPU the library adds",
            measured: String(format: "%.1f µs a token (CPU %.2f s)", cpuPerToken, library.cpuSeconds),
            baseline: String(format: "the paced sources alone, each read, checked and timed as a follower: CPU %.2f s", sources.cpuSeconds),
            ratio: library.cpuSeconds / sources.cpuSeconds, target: "<= 3 µs a token", met: cpuPerToken <= 3,
            correct: library.correct),
        Row(
            scenario: "13", figure: "the same: memory the library adds, at peak",
            measured: String(
                format: "%.1f KB a stream, %.1f KB set up and idle (peak %.0f MB; token to follower p50 %.0f µs, p99 %.0f µs)",
                bytesPerStream / 1024, idlePerStream / 1024, Double(library.peakBytes) / 1e6, library.latencyP50 ?? 0,
                library.latencyP99 ?? 0),
            baseline: String(format: "the paced sources alone: peak %.0f MB", Double(sources.peakBytes) / 1e6),
            ratio: Double(library.peakBytes) / Double(max(sources.peakBytes, 1)), target: "<= 8 KB a stream",
            met: bytesPerStream <= 8 * 1024, correct: library.correct),
    ]
}

/// 14. 100,000 live streams, a follower each, one token a second each (100,000 tokens a second in all): every
/// byte checked, the memory per stream, the token-to-follower latency, and the library's connections.
func hundredThousandStreams(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    let load = ChatLoad(streams: bench.scaled(100_000), tokens: 10, intervalMilliseconds: 1000, throughLibrary: true)
    let (library, sources) = try load.compared(bench)
    let bytesPerStream = Double(library.peakBytes - sources.peakBytes) / Double(load.streams)
    let idlePerStream = Double(library.idleBytes - sources.idleBytes) / Double(load.streams)
    let p99 = library.latencyP99 ?? .infinity
    return [
        Row(
            scenario: "14",
            figure: "\(load.streams) live streams, a follower each, 1 token/s each, \(load.tokens) tokens",
            measured: String(
                format: "%.1f KB a stream at peak (%.1f KB set up, idle); token to follower p50 %.1f ms, p99 %.1f ms; "
                    + "CPU %.0f %% of a core; %d connections",
                bytesPerStream / 1024, idlePerStream / 1024, (library.latencyP50 ?? 0) / 1e3, p99 / 1e3,
                library.cpuSeconds / library.seconds * 100, library.connections ?? 0),
            baseline: String(
                format: "the paced sources alone: CPU %.0f %%, peak %.0f MB", sources.cpuSeconds / sources.seconds * 100,
                Double(sources.peakBytes) / 1e6),
            ratio: library.cpuSeconds / sources.cpuSeconds, target: "p99 < 50 ms, <= 8 KB a stream, 2 connections",
            met: p99 < 50_000 && bytesPerStream <= 8 * 1024 && library.connections == 2, correct: library.correct)
    ]
}

/// What `body` returned, the share of one core this process used while it ran, and how long it ran.
func measuringCPU<Result>(_ body: () async throws -> Result) async rethrows -> (result: Result, cpu: Double, seconds: Double) {
    let (cpuBefore, started) = (Measure.processCPUSeconds(), ContinuousClock.now)
    let result = try await body()
    let seconds = Measure.seconds(ContinuousClock.now - started)
    return (result, (Measure.processCPUSeconds() - cpuBefore) / seconds, seconds)
}
