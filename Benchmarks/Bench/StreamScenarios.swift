import Foundation
import RedisBridge
import RedisTestSupport
import ResumableStream

/// A running FNV-1a hash of text, so that 10,000 readers can check their bytes without keeping them.
struct TextHash: Equatable {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    private(set) var count = 0

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        count += text.utf8.count
    }

    static func of(_ text: String) -> TextHash {
        var hash = TextHash()
        hash.add(text)
        return hash
    }
}

extension ResumableStreamResult {
    /// The stream, or an error that names the outcome (a benchmark must fail loudly, not trap).
    func requiredStream() throws -> ResumableTextStream {
        guard let stream else { throw BenchmarkFailure("expected a stream, got \(self)") }
        return stream
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ResumableTextStream {
    func hash() async throws -> TextHash {
        var hash = TextHash()
        for try await chunk in self { hash.add(chunk) }
        return hash
    }
}

/// Scenario 5: memory per stream with 10,000 streams and their followers live at once, measured from the RSS
/// just before it.
func runConcurrencyScenario(_ bench: Bench) async throws -> Row {
    let streamCount = bench.scaled(10_000)
    let chunkCount = 100
    let source = ChunkSource(count: chunkCount, length: 20)
    let expected = TextHash.of(source.text)
    let connectionsBefore = try await Measure.infoField(bench.commands, "clients", "connected_clients")
    let context = bench.context()
    let idle = Measure.memory("VmRSS")
    Measure.resetPeakMemory()

    // Producers wait on a gate until every follower is attached, so that all streams are live at once.
    let gates = (0..<streamCount).map { _ in AsyncStream<Void>.makeStream() }
    let readers = try await withThrowingTaskGroup(of: (Int, ResumableTextStream, ResumableTextStream).self) { group in
        var started = 0
        var results: [(ResumableTextStream, ResumableTextStream)] = []
        func add(_ index: Int) {
            let gate = gates[index].0
            group.addTask {
                let producer = try await context.resumableStream("many-\(index)") { () -> ChunkSource in
                    for await _ in gate {}
                    return source
                }
                let follower = try await context.resumeExistingStream("many-\(index)")
                guard let own = producer.stream, let followed = follower.stream else {
                    throw ResumableStreamError.producerUnreachable
                }
                return (index, own, followed)
            }
        }
        while started < min(64, streamCount) { add(started); started += 1 }
        while let (_, own, followed) = try await group.next() {
            results.append((own, followed))
            if started < streamCount { add(started); started += 1 }
        }
        return results
    }
    let connections = try await Measure.infoField(bench.commands, "clients", "connected_clients")
    let attached = Measure.memory("VmRSS")
    for gate in gates { gate.1.finish() }
    // Two readers a stream, each a task of the group: what a server has, one response writer a client.
    let hashes = try await withThrowingTaskGroup(of: Bool.self) { group in
        for (own, followed) in readers {
            group.addTask { try await own.hash() == expected }
            group.addTask { try await followed.hash() == expected }
        }
        return try await group.reduce(true) { $0 && $1 }
    }
    let peak = Measure.memory("VmHWM")
    _ = await context.drain(timeout: .seconds(60))
    await context.shutdown(gracePeriod: .seconds(10))
    let buffered = streamCount * chunkCount * 20
    let perStream = Double(peak - idle - buffered) / Double(streamCount)
    let standing = Double(attached - idle) / Double(streamCount)
    // Whatever the number of streams, the library holds its 2 connections.
    let libraryConnections = connections - connectionsBefore
    return Row(
        scenario: "5", figure: "\(streamCount) streams, each with a follower",
        measured: String(
            format: "peak %.1f KB/stream beyond the text (%.1f KB attached and idle); %d connections",
            perStream / 1024, standing / 1024, libraryConnections),
        baseline: String(format: "idle RSS %.0f MB, peak %.0f MB", Double(idle) / 1e6, Double(peak) / 1e6),
        ratio: nil, target: "<= 16 KB peak, 8 KB idle, 2 connections",
        met: perStream <= 16 * 1024 && standing <= 8 * 1024 && libraryConnections == 2, correct: hashes)
}

/// The stream scenarios in order, each a function of the bench and the bridge's figures; a scenario that
/// fails (Redis cut a connection, a stream ended with an error) prints its row as failed and the run goes on.
func runStreamScenarios(_ bench: Bench, bridge: BridgeFigures, only: String? = nil) async -> [Row] {
    let scenarios: [(scenario: String, figure: String, run: (Bench, BridgeFigures) async throws -> [Row])] = [
        ("1", "streams nobody resumes", commonCase),
        ("2", "producer alone", producerAlone),
        ("3", "followers of one producer", fanOut),
        ("4", "resume of 10,000 buffered chunks", bufferedResume),
        ("7", "streams of 2,000 tokens, durable log", durableLogCost),
        ("8", "streams of LLM shape", llmShapedStreams),
        ("9", "1 follower, 20-char chunks, against the Python port", pythonPeer),
        ("10", "1 follower, 20-char chunks, over TLS", tlsRelay),
        ("11", "a 3-primary cluster against 1 node", clusterComparison),
        ("12", "pub/sub per primary, classic against shard channels", pubSubShare),
        ("13", "a chat server's load: what the library adds", chatServerLoad),
        ("14", "100,000 live streams", hundredThousandStreams),
    ]
    var rows: [Row] = []
    for (scenario, figure, run) in scenarios where only == nil || only == scenario {
        do {
            rows += try await run(bench, bridge)
        } catch {
            rows.append(
                Row(
                    scenario: scenario, figure: figure, measured: "failed: \(error)", baseline: "", ratio: nil, target: "",
                    met: nil, correct: false))
        }
    }
    return rows
}

/// 1. The common case: streams that nobody resumes.
func commonCase(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    var rows: [Row] = []
    let context = bench.context()
    _ = try await context.resumableStream("warmup") { ChunkSource(count: 1, length: 5) }.stream?.collect()
    _ = await context.drain(timeout: .seconds(10))
    try await Task.sleep(for: context.configuration.lingerAfterFinish + .milliseconds(300))
    let streamCount = bench.scaled(1000)
    let connectionsBefore = try await Measure.infoField(bench.commands, "stats", "total_connections_received")
    let sent = try await Measure.clientCommands(host: bench.server.host, port: bench.server.port) {
        for index in 0..<streamCount {
            _ = try await context.resumableStream("common-\(index)") { ChunkSource(count: 2, length: 10) }.stream?.collect()
        }
        _ = await context.drain(timeout: .seconds(30))
        // Finished producers answer late requests for a while before they unsubscribe: count that too.
        try await Task.sleep(for: context.configuration.lingerAfterFinish + .milliseconds(300))
    }
    // The monitor is a connection too.
    let connectionsAfter = try await Measure.infoField(bench.commands, "stats", "total_connections_received") - 1
    await context.shutdown(gracePeriod: .seconds(5))
    let perStream = sent.mapValues { Double($0) / Double(streamCount) }
    let total = perStream.values.reduce(0, +)
    let detail = perStream.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f", $0.key.uppercased(), $0.value) }.joined(separator: ", ")
    rows.append(
        Row(
            scenario: "1", figure: "\(streamCount) streams nobody resumes",
            measured: String(format: "%.2f commands/stream (%@), %d new connections", total, detail, connectionsAfter - connectionsBefore),
            baseline: "TypeScript: 4 (INCR, SUBSCRIBE, SET, UNSUBSCRIBE)", ratio: total / 4,
            target: "<= 4 commands, 0 connections", met: total <= 4.0001 && connectionsAfter == connectionsBefore))
    return rows
}

/// 2. A producer with no follower: its own reader's throughput, and the time to its first chunk.
func producerAlone(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    var rows: [Row] = []
    let clock = ContinuousClock()
    let source = ChunkSource(count: bench.scaled(1_000_000), length: 20)
    var started = clock.now
    var direct = TextHash()
    for await chunk in source { direct.add(chunk) }
    let directRate = Double(source.count) / Measure.seconds(clock.now - started)
    let context = bench.context()
    started = clock.now
    let own = try await context.resumableStream("solo") { source }.requiredStream().hash()
    let libraryRate = Double(source.count) / Measure.seconds(clock.now - started)
    rows.append(
        Row(
            scenario: "2", figure: "producer alone, 20-char chunks", measured: String(format: "%.2f M chunks/s", libraryRate / 1e6),
            baseline: String(format: "source read directly %.2f M chunks/s", directRate / 1e6),
            ratio: libraryRate / directRate, target: ">= 0.5x", met: libraryRate >= 0.5 * directRate, correct: own == direct))
    var firstChunk: [Double] = []
    for index in 0..<bench.scaled(300) {
        started = clock.now
        var chunks = try await context.resumableStream("first-\(index)") { ChunkSource(count: 1, length: 20) }.requiredStream().makeAsyncIterator()
        _ = try await chunks.next()
        firstChunk.append(Measure.microseconds(clock.now - started))
        _ = try await chunks.next()
    }
    _ = await context.drain(timeout: .seconds(10))
    await context.shutdown(gracePeriod: .seconds(5))
    let p50 = Measure.percentile(firstChunk, 0.5)
    rows.append(
        Row(
            scenario: "2", figure: "time to the first chunk, p50", measured: String(format: "%.0f µs (%.1f bridge INCRs)", p50, p50 / bridge.incrP50),
            baseline: String(format: "redis-benchmark INCR p50 %.0f µs", bridge.redisBenchmarkIncrP50),
            ratio: p50 / bridge.incrP50, target: "<= 1.5 bridge INCRs (floor 2: SUBSCRIBE before the claim)",
            met: p50 <= 1.5 * bridge.incrP50))
    return rows
}

/// 3 and 6. Followers of one producer: 20-character chunks to 1 and 10 followers, then 1-character chunks;
/// then 10 followers again without flow control (no coalescing), with Redis's output buffer and the messages it took.
func fanOut(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    var rows: [Row] = []
    var oneFollowerRate = 0.0
    var windowed: Relay?
    for (followers, length, window) in [(1, 20, true), (10, 20, true), (1, 1, true), (10, 20, false)] {
        let run = try await relay(bench, chunks: bench.scaled(200_000), length: length, followers: followers, window: window)
        if followers == 10, window {
            windowed = run
        } else if followers == 10, let windowed {
            let figures = { (run: Relay) in
                String(
                    format: "%.0f k chunks/s, %.2f PUBLISH/chunk, output buffer peak %.1f MB", run.rate / 1e3, run.messages, Double(run.peak) / 1e6)
            }
            rows.append(
                Row(
                    scenario: "3", figure: "10 followers, flow control (default window)", measured: figures(windowed),
                    baseline: "no window: " + figures(run),
                    ratio: Double(windowed.peak) / Double(max(run.peak, 1)), target: "peak <= 10 windows (1.3 MB)",
                    met: windowed.peak <= 10 * 2 * 64 * 1024, correct: windowed.correct && run.correct))
        } else if length == 1 {
            rows.append(
                Row(
                    scenario: "6", figure: "1 follower, 1-char chunks", measured: run.rateAndCPU,
                    baseline: String(format: "scenario 3, 1 follower: %.0f k chunks/s", oneFollowerRate / 1e3),
                    ratio: run.rate / oneFollowerRate, target: ">= 0.5x", met: run.rate >= 0.5 * oneFollowerRate, correct: run.correct))
        } else {
            oneFollowerRate = run.rate
            // The ratio compares the messages delivered with the bridge's own pub->sub.
            rows.append(
                Row(
                    scenario: "3", figure: "1 follower, 20-char chunks",
                    measured: run.rateAndCPU,
                    baseline: String(
                        format: "bridge pub->sub %.0f k/s; redis-benchmark -P 16 %.2f M/s", bridge.pubSubRate / 1e3,
                        bridge.redisBenchmarkPublish / 1e6),
                    ratio: run.rate / bridge.pubSubRate, target: ">= 1 M/s", met: run.rate >= 1_000_000, correct: run.correct))
        }
    }
    return rows
}

/// What one relay run measured: chunks/s to each follower, the peak of Redis's output buffer for the
/// followers' subscriber connection, PUBLISH commands per chunk and follower, and whether every byte arrived.
struct Relay {
    /// The rate, with the CPU a chunk and the PUBLISH commands a chunk beside it.
    var rateAndCPU: String {
        String(format: "%.0f k chunks/s (CPU %.1f µs a chunk, %.2f PUBLISH/chunk)", rate / 1e3, Measure.microseconds(cpuPerChunk), messages)
    }

    let rate: Double
    /// This process's CPU (all its threads) per chunk, producer and readers included: steadier than the rate on
    /// a shared machine.
    let cpuPerChunk: Duration
    let peak: Int
    let messages: Double
    let correct: Bool
}

/// One producer of `chunks` chunks of `length` characters, and `followers` followers attached before it starts,
/// with the default flow control or none.
func relay(_ bench: Bench, chunks: Int, length: Int, followers: Int, window: Bool) async throws -> Relay {
    let clock = ContinuousClock()
    let source = ChunkSource(count: chunks, length: length)
    let expected = TextHash.of(source.text)
    let context = window ? bench.context() : bench.context(followerWindow: nil)
    let publishesBefore = try await Measure.publishCalls(bench.commands)
    let sampler = Task { try await Measure.peakSubscriberOutputBuffer(bench.commands) }
    let (gate, open) = AsyncStream<Void>.makeStream()
    let producer = try await context.resumableStream("fanout") { () -> ChunkSource in
        for await _ in gate {}
        return source
    }
    let streams = try await (0..<followers).asyncMap { _ in try await context.resumeExistingStream("fanout").requiredStream() }
    let (started, cpuBefore) = (clock.now, Measure.processCPUSeconds())
    open.finish()
    async let own = producer.requiredStream().hash()
    let received = try await withThrowingTaskGroup(of: TextHash.self) { group in
        for stream in streams { group.addTask { try await stream.hash() } }
        return try await group.reduce(into: []) { $0.append($1) }
    }
    let rate = Double(source.count) / Measure.seconds(clock.now - started)
    let cpuPerChunk = Duration.seconds((Measure.processCPUSeconds() - cpuBefore) / Double(source.count))
    let ownHash = try await own
    sampler.cancel()
    let peak = try await sampler.value
    let messages = Double(try await Measure.publishCalls(bench.commands) - publishesBefore) / Double(source.count * followers)
    await context.shutdown(gracePeriod: .seconds(10))
    return Relay(
        rate: rate, cpuPerChunk: cpuPerChunk, peak: peak, messages: messages,
        correct: ownHash == expected && received.allSatisfy { $0 == expected })
}

/// 9. The same relay as the Python port of the TypeScript package does it (PyPI `resumable-stream`, installed
/// by `make bench` into `.build/peer-venv` from Benchmarks/Peer), on the same server in the same run.
func pythonPeer(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    let chunks = bench.scaled(20_000)
    let python = ".build/peer-venv/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw BenchmarkFailure("no \(python): Benchmarks/Peer/setup.sh did not install the peer")
    }
    let output = try Measure.run(
        python,
        [
            "Benchmarks/Peer/relay.py", "--redis-url", bench.redis.description,
            "--chunks", String(chunks), "--length", "20",
        ])
    struct PeerRun: Decodable {
        let chunksPerSecond: Double
        let correct: Bool
        let package: String

        enum CodingKeys: String, CodingKey {
            case chunksPerSecond = "chunks_per_second", correct, package
        }
    }
    guard let peer = try? JSONDecoder().decode(PeerRun.self, from: Data(output.utf8)) else {
        throw BenchmarkFailure("the Python peer gave no result (run Benchmarks/Peer/relay.py by hand to see why)")
    }
    let swift = try await relay(bench, chunks: chunks, length: 20, followers: 1, window: true)
    return [
        Row(
            scenario: "9", figure: "1 follower, 20-char chunks, against the Python port",
            measured: String(format: "%.0f k chunks/s", swift.rate / 1e3),
            baseline: String(format: "%@: %.1f k chunks/s", peer.package, peer.chunksPerSecond / 1e3),
            ratio: swift.rate / peer.chunksPerSecond, target: ">= 50x", met: swift.rate >= 50 * peer.chunksPerSecond,
            correct: swift.correct && peer.correct)
    ]
}

/// 10. The relay of scenario 3 over `rediss://` against the same server's plain port, in the same run: what the
/// TLS tunnel (OpenSSL on the connection's executor, a local socket to hiredis) costs.
func tlsRelay(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    guard bench.server.isManaged else { throw BenchmarkFailure("REDIS_URL is set: the TLS row needs a redis-server of its own") }
    let certificates = try TestCertificates()
    let server = try await RedisServer.start(tls: certificates.serverArguments())
    defer { try? server.stop() }
    var tls = try RedisConfiguration(url: server.tlsURL!)
    tls.tls?.trustRoots = .file(path: certificates.caFile)
    let plainBench = try await Bench(quick: bench.quick, server: server, redis: try RedisConfiguration(url: server.url))
    let tlsBench = try await Bench(quick: bench.quick, server: server, redis: tls)
    // Alternated, the best of three each: the first run of a process warms up and would favour the second.
    let chunks = bench.scaled(200_000)
    var plainRate = 0.0
    var tlsRate = 0.0
    var correct = true
    for _ in 0..<3 {
        let plain = try await relay(plainBench, chunks: chunks, length: 20, followers: 1, window: true)
        let overTLS = try await relay(tlsBench, chunks: chunks, length: 20, followers: 1, window: true)
        plainRate = max(plainRate, plain.rate)
        tlsRate = max(tlsRate, overTLS.rate)
        correct = correct && plain.correct && overTLS.correct
    }
    await plainBench.commands.close()
    await tlsBench.commands.close()
    return [
        Row(
            scenario: "10", figure: "1 follower, 20-char chunks, over TLS",
            measured: String(format: "%.0f k chunks/s", tlsRate / 1e3),
            baseline: String(format: "the same server's plain port: %.0f k chunks/s", plainRate / 1e3),
            ratio: tlsRate / plainRate, target: ">= 0.5x", met: tlsRate >= 0.5 * plainRate, correct: correct)
    ]
}

/// 4. Resuming a stream with 10,000 buffered chunks: from the call to the first byte.
func bufferedResume(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    var rows: [Row] = []
    let clock = ContinuousClock()
    let context = bench.context()
    let (source, feed) = AsyncStream<String>.makeStream()
    var own = try await context.resumableStream("buffered") { source }.requiredStream().makeAsyncIterator()
    let chunks = ChunkSource(count: 10_000, length: 20)
    for await chunk in chunks { feed.yield(chunk) }
    // Chunks the reader was behind on come merged: read up to the length.
    var read = 0
    while read < chunks.text.utf8.count, let chunk = try await own.next() { read += chunk.utf8.count }
    let prefix = String(chunks.text.prefix(20))
    var latencies: [Double] = []
    var correct = true
    for _ in 0..<bench.scaled(1000) {
        let started = clock.now
        var follower = try await context.resumeExistingStream("buffered").requiredStream().makeAsyncIterator()
        let first = try await follower.next()
        latencies.append(Measure.microseconds(clock.now - started))
        correct = correct && first?.hasPrefix(prefix) == true
    }
    feed.finish()
    await context.shutdown(gracePeriod: .seconds(10))
    let (p50, p99) = (Measure.percentile(latencies, 0.5), Measure.percentile(latencies, 0.99))
    rows.append(
        Row(
            scenario: "4", figure: "resume of 10,000 buffered chunks", measured: String(format: "p50 %.0f µs, p99 %.0f µs", p50, p99),
            baseline: String(format: "bridge INCR p50 %.0f µs", bridge.incrP50), ratio: p50 / bridge.incrP50,
            target: "p50 <= 0.5 ms, p99 <= 5 ms", met: p50 <= 500 && p99 <= 5000, correct: correct))
    return rows
}

/// 7. The durable log's cost: streams of LLM shape (2,000 tokens of 4 bytes, in bursts of 40 every 10 ms),
/// all at once, with the log on: commands per stream, and what the log keeps in Redis against the text.
func durableLogCost(_ bench: Bench, _ bridge: BridgeFigures) async throws -> [Row] {
    var rows: [Row] = []
    let streamCount = bench.scaled(1000)
    let source = PacedTokens(count: 2000, burst: 40, pause: .milliseconds(10))
    let expected = TextHash.of(source.text)
    let context = bench.context(durableLog: .init(retention: .seconds(60)))
    var correct = true
    let sent = try await Measure.clientCommands(host: bench.server.host, port: bench.server.port) {
        correct = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<streamCount {
                group.addTask { try await context.resumableStream("logged-\(index)") { source }.requiredStream().hash() == expected }
            }
            return try await group.reduce(true) { $0 && $1 }
        }
        _ = await context.drain(timeout: .seconds(30))
        // Finished producers answer late requests for a while before they unsubscribe: count that too.
        try await Task.sleep(for: context.configuration.lingerAfterFinish + .milliseconds(300))
    }
    var logBytes = 0
    let sample = min(streamCount, 50)
    for index in 0..<sample {
        let key = "\(context.configuration.keyPrefix):rs:log:logged-\(index)"
        logBytes += try await bench.commands.send(["MEMORY", "USAGE", .string(key)]).int ?? 0
        let logged = try await bench.commands.logEntries(at: key, after: 0, limit: nil)
        correct = correct && logged.last?.isEnd == true && TextHash.of(logged.map(\.text).joined()) == expected
    }
    await context.shutdown(gracePeriod: .seconds(5))
    let perStream = sent.mapValues { Double($0) / Double(streamCount) }
    let total = perStream.values.reduce(0, +)
    let detail = perStream.sorted { $0.key < $1.key }.map { String(format: "%@ %.1f", $0.key.uppercased(), $0.value) }.joined(separator: ", ")
    let textBytes = source.text.utf8.count
    rows.append(
        Row(
            scenario: "7", figure: "\(streamCount) streams of 2,000 tokens, durable log",
            measured: String(
                format: "%.1f commands/stream (%@); log %.1f KB in Redis a stream", total, detail, Double(logBytes) / Double(sample) / 1e3),
            baseline: String(format: "text %.1f KB a stream; 4 commands without the log", Double(textBytes) / 1e3),
            ratio: Double(logBytes) / Double(sample) / Double(textBytes), target: "", met: nil, correct: correct))
    return rows
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
