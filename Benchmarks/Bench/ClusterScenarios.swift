import Foundation
import RedisBridge
import RedisTestSupport
import ResumableStream

/// 11. The same work on a Redis Cluster of three primaries (and a replica of each) as on the one node of the
/// other scenarios, in the same run: streams created and finished per second, 50 at a time (each one the
/// claim, one chunk, the fenced end, on its slot's primary), and the relay to one follower (classic pub/sub,
/// which the cluster bus copies to every node).
func clusterComparison(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    guard bench.server.isManaged else { throw BenchmarkFailure("REDIS_URL is set: the cluster row needs redis-servers of its own") }
    let cluster = try await ClusterGroup.start()
    defer { cluster.stop() }
    let clusterBench = try await Bench(quick: bench.quick, server: cluster.nodes[0], redis: try RedisConfiguration(url: cluster.url))
    // Alternated, the best of two each, so that neither side gets only the cold run.
    var streams = (single: 0.0, cluster: 0.0)
    var chunks = (single: 0.0, cluster: 0.0)
    var correct = true
    for _ in 0..<2 {
        let singleStreams = try await streamRate(bench)
        let clusterStreams = try await streamRate(clusterBench)
        let singleRelay = try await relay(bench, chunks: bench.scaled(200_000), length: 20, followers: 1, window: true)
        let clusterRelay = try await relay(clusterBench, chunks: bench.scaled(200_000), length: 20, followers: 1, window: true)
        streams = (max(streams.single, singleStreams.rate), max(streams.cluster, clusterStreams.rate))
        chunks = (max(chunks.single, singleRelay.rate), max(chunks.cluster, clusterRelay.rate))
        correct = correct && singleStreams.correct && clusterStreams.correct && singleRelay.correct && clusterRelay.correct
    }
    await clusterBench.commands.close()
    return [
        Row(
            scenario: "11", figure: "streams/s (claim, 1 chunk, end), 50 at a time, 3-primary cluster",
            measured: String(format: "%.0f streams/s", streams.cluster), baseline: String(format: "1 node: %.0f streams/s", streams.single),
            ratio: streams.cluster / streams.single, target: ">= 0.5x", met: streams.cluster >= 0.5 * streams.single, correct: correct),
        Row(
            scenario: "11", figure: "1 follower, 20-char chunks, 3-primary cluster",
            measured: String(format: "%.0f k chunks/s", chunks.cluster / 1e3),
            baseline: String(format: "1 node: %.0f k chunks/s", chunks.single / 1e3),
            ratio: chunks.cluster / chunks.single, target: ">= 0.5x", met: chunks.cluster >= 0.5 * chunks.single, correct: correct),
    ]
}

/// Streams created, given one chunk and finished per second, 50 at a time.
private func streamRate(_ bench: Bench) async throws -> (rate: Double, correct: Bool) {
    let context = bench.context()
    let count = bench.scaled(2_000)
    let clock = ContinuousClock()
    let started = clock.now
    let correct = try await withThrowingTaskGroup(of: Bool.self) { group in
        var launched = 0
        var correct = true
        func launch() {
            let index = launched
            launched += 1
            group.addTask {
                let text = try await context.resumableStream("rate-\(index)") { ChunkSource(count: 1, length: 20) }.stream?.collect()
                return text == ChunkSource(count: 1, length: 20).text
            }
        }
        while launched < min(50, count) { launch() }
        while let result = try await group.next() {
            correct = correct && result
            if launched < count { launch() }
        }
        return correct
    }
    let rate = Double(count) / Measure.seconds(clock.now - started)
    await context.shutdown(gracePeriod: .seconds(10))
    return (rate, correct)
}
