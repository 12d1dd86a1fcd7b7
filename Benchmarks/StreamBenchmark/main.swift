// Resumable-stream benchmark: the Redis cost of the common case and a follower's throughput, against one
// throwaway redis-server, with the baselines measured in the same run. Run with `make bench-stream`.
import Foundation
import RedisBridge
import RedisTestSupport
import ResumableStream

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Calls per command from `INFO commandstats`.
func commandCalls(_ commands: RedisCommandConnection) async throws -> [String: Int] {
    let info = try await commands.send(["INFO", "commandstats"]).string ?? ""
    var calls: [String: Int] = [:]
    for line in info.split(separator: "\r\n") where line.hasPrefix("cmdstat_") {
        let name = line.dropFirst(8).prefix { $0 != ":" }
        if let range = line.range(of: "calls="), let value = Int(line[range.upperBound...].prefix { $0.isNumber }) {
            calls[String(name)] = value
        }
    }
    return calls
}

func infoField(_ commands: RedisCommandConnection, _ section: String, _ field: String) async throws -> Int {
    let info = try await commands.send(["INFO", .string(section)]).string ?? ""
    let line = info.split(separator: "\r\n").first { $0.hasPrefix("\(field):") } ?? ""
    return Int(line.dropFirst(field.count + 1)) ?? -1
}

let server = try await RedisServer.start()
defer { try? server.stop() }
let redis = try RedisConfiguration(url: server.url)
let admin = RedisCommandConnection(configuration: redis)
let context = ResumableStreamContext(redis: redis, configuration: .init(keyPrefix: "bench"))
let clock = ContinuousClock()

// 1. The common case: 1,000 streams that nobody resumes.
let warmup = try await context.resumableStream("warmup") { AsyncStream<String> { $0.yield("w"); $0.finish() } }
_ = try await warmup.stream?.collect()
_ = await context.drain(timeout: .seconds(10))
let streamCount = 1000
let callsBefore = try await commandCalls(admin)
let connectionsBefore = try await infoField(admin, "stats", "total_connections_received")
for index in 0..<streamCount {
    let result = try await context.resumableStream("common-\(index)") {
        AsyncStream<String> { $0.yield("hello "); $0.yield("world"); $0.finish() }
    }
    _ = try await result.stream?.collect()
}
_ = await context.drain(timeout: .seconds(30))
let callsAfter = try await commandCalls(admin)
let connectionsAfter = try await infoField(admin, "stats", "total_connections_received")
var perStream: [String: Double] = [:]
for (name, after) in callsAfter {
    let delta = after - (callsBefore[name] ?? 0)
    // The two INFO calls of this measurement are not the library's.
    if name != "info", delta > 0 { perStream[name] = Double(delta) / Double(streamCount) }
}
let commandsPerStream = perStream.values.reduce(0, +)

// 2. A follower of a producer of 200,000 chunks of 20 characters.
let chunkCount = 200_000
let chunk = String(repeating: "x", count: 19)
let chunks = (0..<chunkCount).map { "\(chunk.prefix(19 - String($0 % 10).count))\($0 % 10)|" }
let (source, feed) = AsyncStream<String>.makeStream()
let producer = try await context.resumableStream("throughput") { source }
let follower = try await context.resumeExistingStream("throughput")
guard let producerStream = producer.stream, let followerStream = follower.stream else {
    fatalError("benchmark setup failed: \(producer) \(follower)")
}
let started = clock.now
let ownReader = Task { try await producerStream.collect() }
for chunk in chunks { feed.yield(chunk) }
feed.finish()
let followed = try await followerStream.collect()
let followerRate = Double(chunkCount) / seconds(clock.now - started)
let own = try await ownReader.value
let expected = chunks.joined()

// Baseline in the same run: the bridge alone, publishing the same chunks to one subscriber.
let subscriber = RedisSubscriberConnection(configuration: redis)
let subscription = try await subscriber.subscribe(to: "baseline")
let baselineStart = clock.now
let receiver = Task {
    var received = 0
    for await event in subscription {
        if case .message = event { received += 1 }
        if received == chunkCount { break }
    }
}
for chunk in chunks { admin.publishWithoutWaiting(chunk, to: "baseline") }
await receiver.value
let baselineRate = Double(chunkCount) / seconds(clock.now - baselineStart)

print("Resumable stream benchmark, one run against one throwaway redis-server")
print("command: swift run -c release stream-bench")
print("")
print("1,000 streams that nobody resumes")
print(String(format: "  Redis commands per stream: %.2f (%@); TypeScript design: 4 (INCR, SUBSCRIBE, SET, UNSUBSCRIBE); target <= 5: %@",
             commandsPerStream, perStream.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f", $0.key, $0.value) }.joined(separator: ", "),
             commandsPerStream <= 5 ? "met" : "MISSED"))
print("  new connections: \(connectionsAfter - connectionsBefore); target 0: \(connectionsAfter == connectionsBefore ? "met" : "MISSED")")
print("")
print("one follower of 200,000 chunks of 20 characters")
print(String(format: "  follower: %.0f chunks/s; bridge pub->sub alone: %.0f msg/s (%.2fx); target >= 100k/s: %@",
             followerRate, baselineRate, followerRate / baselineRate, followerRate >= 100_000 ? "met" : "MISSED"))
print("  byte-exact: follower \(followed == expected ? "yes" : "NO"), producer's own reader \(own == expected ? "yes" : "NO")")

await subscriber.close()
await admin.close()
await context.shutdown(gracePeriod: .seconds(5))
