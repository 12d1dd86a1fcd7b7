import RedisBridge

/// The Redis bridge against redis-benchmark on the same server: the baselines of the stream scenarios too.
struct BridgeFigures {
    var incrP50: Double = 0
    var redisBenchmarkIncrP50: Double = 0
    var redisBenchmarkPublish: Double = 0
    var pubSubRate: Double = 0
}

func runBridgeScenarios(_ bench: Bench) async throws -> ([Row], BridgeFigures) {
    var figures = BridgeFigures()
    let commands = bench.commands
    let clock = ContinuousClock()

    // INCR round trip, one caller at a time.
    for _ in 0..<1000 { _ = try await commands.incr("bench:warmup") }
    var latencies: [Double] = []
    for _ in 0..<bench.scaled(10_000) {
        let started = clock.now
        _ = try await commands.incr("bench:incr")
        latencies.append(Measure.microseconds(clock.now - started))
    }
    figures.incrP50 = Measure.percentile(latencies, 0.5)
    figures.redisBenchmarkIncrP50 = try Measure.redisBenchmark(port: bench.port, ["-c", "1", "-n", "10000", "INCR", "k"]).p50

    // Pipelined PUBLISH: four callers, a batch of 1,000 each in flight.
    let publishCount = bench.scaled(200_000)
    let batch: [[RESPArgument]] = Array(repeating: ["PUBLISH", "bench:nobody", "x"], count: 1000)
    var started = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<4 {
            group.addTask { for _ in 0..<(publishCount / 4000) { _ = try await commands.pipeline(batch) } }
        }
        try await group.waitForAll()
    }
    let pipelineRate = Double(publishCount) / Measure.seconds(clock.now - started)
    figures.redisBenchmarkPublish = try Measure.redisBenchmark(port: bench.port, ["-P", "16", "-n", "200000", "PUBLISH", "ch", "x"]).rps

    // pub -> sub, 100-byte messages, one subscriber.
    let messageCount = bench.scaled(500_000)
    let message = String(repeating: "m", count: 100)
    let subscriber = RedisSubscriberConnection(configuration: bench.redis)
    let subscription = try await subscriber.subscribe(to: "bench:pubsub")
    started = clock.now
    let receiver = Task {
        var received = 0
        for await event in subscription {
            if case .message(let payload) = event, payload.count == 100 { received += 1 }
            if received == messageCount { break }
        }
        return received
    }
    let pubsubBatch: [[RESPArgument]] = Array(repeating: ["PUBLISH", "bench:pubsub", .string(message)], count: 1000)
    for _ in 0..<(messageCount / 1000) { _ = try await commands.pipeline(pubsubBatch) }
    let received = await receiver.value
    figures.pubSubRate = Double(received) / Measure.seconds(clock.now - started)
    await subscriber.close()

    let rows = [
        Row(
            scenario: "B1", figure: "INCR round trip p50", measured: String(format: "%.0f µs", figures.incrP50),
            baseline: String(format: "redis-benchmark -c 1 INCR p50 %.0f µs", figures.redisBenchmarkIncrP50),
            ratio: figures.incrP50 / figures.redisBenchmarkIncrP50, target: "<= 1.3x", met: figures.incrP50 <= 1.3 * figures.redisBenchmarkIncrP50),
        Row(
            scenario: "B1", figure: "INCR round trip p99", measured: String(format: "%.0f µs", Measure.percentile(latencies, 0.99)),
            baseline: "", ratio: nil, target: "", met: nil),
        Row(
            scenario: "B2", figure: "pipelined PUBLISH, 4 callers", measured: String(format: "%.2f M/s", pipelineRate / 1e6),
            baseline: String(format: "redis-benchmark -P 16 PUBLISH %.2f M/s", figures.redisBenchmarkPublish / 1e6),
            ratio: pipelineRate / figures.redisBenchmarkPublish, target: ">= 1.0x", met: pipelineRate >= figures.redisBenchmarkPublish),
        Row(
            scenario: "B3", figure: "pub -> sub, 100-byte messages", measured: String(format: "%.0f k msg/s", figures.pubSubRate / 1e3),
            baseline: "", ratio: nil, target: ">= 500 k/s", met: figures.pubSubRate >= 500_000, correct: received == messageCount),
    ]
    return (rows, figures)
}
