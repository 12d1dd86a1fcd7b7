// Bridge benchmark: measures the Redis bridge against redis-benchmark on the same throwaway server, in one
// run, and prints ratios (absolute times drift on shared machines). Run with `make bench-bridge`.
import Foundation
import RedisBridge
import RedisTestSupport

/// Runs `redis-benchmark --csv` and returns the row as (requests per second, p50 in µs).
func redisBenchmark(port: Int, _ arguments: [String]) throws -> (rps: Double, p50: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["redis-benchmark", "-h", "127.0.0.1", "-p", String(port), "--csv"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
    guard let row = lines.last?.split(separator: ",").map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }),
          row.count >= 5, let rps = Double(row[1]), let p50 = Double(row[4])
    else { throw RedisError.unexpectedReply("redis-benchmark printed: \(lines)") }
    return (rps, p50 * 1000)
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

func seconds(_ duration: Duration) -> Double { microseconds(duration) / 1e6 }

func row(_ name: String, _ ours: String, _ baseline: String, _ ratio: Double, _ target: String, _ met: Bool) {
    let cells = [name.padding(toLength: 34, withPad: " ", startingAt: 0),
                 ours.padding(toLength: 16, withPad: " ", startingAt: 0),
                 baseline.padding(toLength: 34, withPad: " ", startingAt: 0),
                 String(format: "%.2fx", ratio).padding(toLength: 8, withPad: " ", startingAt: 0),
                 "\(target) \(met ? "met" : "MISSED")"]
    print(cells.joined(separator: " | "))
}

let server = try await RedisServer.start()
defer { try? server.stop() }
let configuration = try RedisConfiguration(url: server.url)
let commands = RedisCommandConnection(configuration: configuration)
let subscriber = RedisSubscriberConnection(configuration: configuration)
try await commands.connect()

// 1. INCR round trip, one caller at a time.
let clock = ContinuousClock()
for _ in 0..<2000 { _ = try await commands.incr("warmup") }
var latencies: [Double] = []
for _ in 0..<10_000 {
    let started = clock.now
    _ = try await commands.incr("bench:incr")
    latencies.append(microseconds(clock.now - started))
}
latencies.sort()
let incrBaseline = try redisBenchmark(port: server.port, ["-c", "1", "-n", "10000", "INCR", "k"])

// 2. Pipelined PUBLISH from one task, nobody subscribed.
let publishCount = 200_000
var started = clock.now
for _ in 0..<publishCount { commands.publishWithoutWaiting("x", to: "bench:ch") }
_ = try await commands.send(["PING"])  // replies arrive in order: this one comes after every publish
let fireAndForgetRate = Double(publishCount) / seconds(clock.now - started)
let batch: [[RESPArgument]] = Array(repeating: ["PUBLISH", "bench:ch", "x"], count: 1000)
// Four callers with a batch each in flight keep the connection busy while a batch's replies come back.
started = clock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for _ in 0..<4 {
        group.addTask { for _ in 0..<(publishCount / batch.count / 4) { _ = try await commands.pipeline(batch) } }
    }
    try await group.waitForAll()
}
let pipelineRate = Double(publishCount) / seconds(clock.now - started)
let publishBaseline = try redisBenchmark(port: server.port, ["-P", "16", "-n", "200000", "PUBLISH", "ch", "x"])

// 3. pub -> sub, 100-byte messages, published in pipelined batches, received by one subscriber.
let messageCount = 500_000
let message = String(repeating: "m", count: 100)
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
for _ in 0..<(messageCount / pubsubBatch.count) { _ = try await commands.pipeline(pubsubBatch) }
let received = await receiver.value
let pubsubRate = Double(received) / seconds(clock.now - started)

let incrP50 = percentile(latencies, 0.5)
let version = try await commands.send(["INFO", "server"]).string?
    .split(separator: "\r\n").first { $0.hasPrefix("redis_version:") }?.dropFirst(14) ?? "?"
print("Redis bridge benchmark, one run against one throwaway redis-server (Redis \(version))")
print("\(ProcessInfo.processInfo.activeProcessorCount) cores; command: swift run -c release bridge-bench")
print("")
print(["figure".padding(toLength: 34, withPad: " ", startingAt: 0), "bridge".padding(toLength: 16, withPad: " ", startingAt: 0),
       "baseline (same run)".padding(toLength: 34, withPad: " ", startingAt: 0), "ratio   ", "target"].joined(separator: " | "))
row("INCR round trip p50", String(format: "%.1f µs", incrP50),
    String(format: "redis-benchmark -c1 %.1f µs", incrBaseline.p50), incrP50 / incrBaseline.p50, "<= 1.6x", incrP50 <= 1.6 * incrBaseline.p50)
row("INCR round trip p99", String(format: "%.1f µs", percentile(latencies, 0.99)),
    String(format: "redis-benchmark -c1 p50 %.1f µs", incrBaseline.p50), percentile(latencies, 0.99) / incrBaseline.p50, "(info)", true)
row("PUBLISH, pipeline(1000) x4 callers", String(format: "%.0f/s", pipelineRate),
    String(format: "redis-benchmark -P16 %.0f/s", publishBaseline.rps), pipelineRate / publishBaseline.rps, ">= 1.0x", pipelineRate >= publishBaseline.rps)
row("PUBLISH, publishWithoutWaiting", String(format: "%.0f/s", fireAndForgetRate),
    String(format: "redis-benchmark -P16 %.0f/s", publishBaseline.rps), fireAndForgetRate / publishBaseline.rps, "(info)", true)
row("pub -> sub, 100 B messages", String(format: "%.0f msg/s", pubsubRate), "500k msg/s", pubsubRate / 500_000,
    ">= 500k/s", pubsubRate >= 500_000 && received == messageCount)

await commands.close()
await subscriber.close()
