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

/// 12. Where pub/sub runs on a cluster of three primaries (and a replica of each), classic pub/sub against shard
/// channels (`sharded_pubsub=yes`), in the same run and on the same cluster: streams with followers in another
/// context (another instance), and on each primary the pub/sub commands it ran (`INFO commandstats`) and the
/// publishes the cluster bus brought it from the others (`CLUSTER INFO`).
func pubSubShare(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    guard bench.server.isManaged else { throw BenchmarkFailure("REDIS_URL is set: the cluster row needs redis-servers of its own") }
    let cluster = try await ClusterGroup.start()
    defer { cluster.stop() }
    let primaries = try await cluster.primaries()
    var shares: [PubSubShare] = []
    for sharded in [false, true] {
        let before = try await primaries.asyncMap { try await PubSubCounters(of: $0) }
        let correct = try await streamsWithFollowers(on: try RedisConfiguration(url: cluster.url + (sharded ? "?sharded_pubsub=yes" : "")), bench)
        let after = try await primaries.asyncMap { try await PubSubCounters(of: $0) }
        shares.append(PubSubShare(before: before, after: after, correct: correct))
    }
    let (classic, sharded) = (shares[0], shares[1])
    let percent = { (share: Double) in String(format: "%.0f %%", share * 100) }
    return [
        Row(
            scenario: "12", figure: "busiest primary's share of the pub/sub commands, 3 primaries, shard channels",
            measured: "\(percent(sharded.busiestShare)) (each: \(sharded.shares.map(percent).joined(separator: ", ")))",
            baseline: "classic: \(percent(classic.busiestShare)) (each: \(classic.shares.map(percent).joined(separator: ", ")))",
            ratio: sharded.busiestShare / classic.busiestShare, target: "<= 45 %", met: sharded.busiestShare <= 0.45,
            correct: classic.correct && sharded.correct),
        Row(
            scenario: "12", figure: "publishes the bus copies to each other primary, per publish, shard channels",
            measured: String(format: "%.2f", sharded.busCopiesPerPublish), baseline: String(format: "classic: %.2f", classic.busCopiesPerPublish),
            ratio: nil, target: "0", met: sharded.busCopiesPerPublish < 0.01, correct: classic.correct && sharded.correct),
    ]
}

/// What one primary counted of pub/sub: the commands it ran, and the publishes that reached it over the bus.
private struct PubSubCounters {
    static let commands: Set<String> = [
        "publish", "spublish", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "pubsub|numsub", "pubsub|shardnumsub",
    ]
    var commands = 0
    var publishes = 0
    var busPublishes = 0

    init(of node: RedisServer) async throws {
        // INFO's lines end in CRLF, one Character: split at any newline.
        for line in try await node.cli(["INFO", "commandstats"]).split(whereSeparator: \.isNewline) {
            // cmdstat_publish:calls=12,usec=...
            guard line.hasPrefix("cmdstat_"), let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: 8)..<colon])
            guard Self.commands.contains(name), let calls = line.split(separator: ",").first?.split(separator: "=").last.flatMap({ Int($0) })
            else { continue }
            commands += calls
            if name.hasSuffix("publish") { publishes += calls }
        }
        for line in try await node.cli(["CLUSTER", "INFO"]).split(whereSeparator: \.isNewline) {
            let field = line.split(separator: ":")
            guard field.count == 2, ["cluster_stats_messages_publish_received", "cluster_stats_messages_publishshard_received"].contains(field[0])
            else { continue }
            busPublishes += Int(field[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
    }
}

/// The pub/sub work of one run, primary by primary.
private struct PubSubShare {
    let shares: [Double]
    let busCopiesPerPublish: Double
    let correct: Bool

    init(before: [PubSubCounters], after: [PubSubCounters], correct: Bool) {
        let commands = zip(before, after).map { Double($1.commands - $0.commands) }
        let total = max(1, commands.reduce(0, +))
        shares = commands.map { $0 / total }
        let publishes = max(1, zip(before, after).map { Double($1.publishes - $0.publishes) }.reduce(0, +))
        let copies = zip(before, after).map { Double($1.busPublishes - $0.busPublishes) }.reduce(0, +)
        // Each publish runs on one primary; a copy to every other primary is `primaries - 1` copies.
        busCopiesPerPublish = copies / publishes / Double(max(1, before.count - 1))
        self.correct = correct
    }

    var busiestShare: Double { shares.max() ?? 0 }
}

/// 90 streams (9 with QUICK) of 200 chunks, each with 2 followers in another context: whether every reader got
/// every byte.
private func streamsWithFollowers(on redis: RedisConfiguration, _ bench: Bench) async throws -> Bool {
    let configuration = ResumableStreamConfiguration(keyPrefix: "share-\(UUID().uuidString.prefix(8))")
    let producing = ResumableStreamContext(redis: redis, configuration: configuration)
    let following = ResumableStreamContext(redis: redis, configuration: configuration)
    let source = ChunkSource(count: bench.scaled(200), length: 20)
    let streams = try await (0..<bench.scaled(300)).asyncMap { index in
        let (chunks, feed) = AsyncStream<String>.makeStream()
        let own = try await producing.resumableStream("share-\(index)") { chunks }.requiredStream()
        let followers = try await (0..<2).asyncMap { _ in try await following.resumeExistingStream("share-\(index)").requiredStream() }
        return (own: own, followers: followers, feed: feed)
    }
    let correct = try await withThrowingTaskGroup(of: Bool.self) { group in
        for stream in streams {
            for reader in [stream.own] + stream.followers { group.addTask { try await reader.collect() == source.text } }
        }
        for stream in streams {
            for await chunk in source { stream.feed.yield(chunk) }
            stream.feed.finish()
        }
        return try await group.reduce(true) { $0 && $1 }
    }
    await producing.shutdown(gracePeriod: .seconds(10))
    await following.shutdown(gracePeriod: .seconds(10))
    return correct
}
