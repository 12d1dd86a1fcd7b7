// `make bench`: every scenario of the benchmark in one run against one throwaway redis-server (or
// REDIS_URL), each figure next to a baseline measured in the same run; the table also goes to BENCHMARKS.md.
// `make bench QUICK=1` runs a tenth of everything. `make soak` runs the load-and-leak check instead.
import Foundation
import RedisBridge
import RedisTestSupport
import ResumableStream

/// What every scenario shares: the server, an admin connection, the size of the run.
final class Bench: Sendable {
    let quick: Bool
    let server: RedisServer
    let redis: RedisConfiguration
    let commands: RedisCommandConnection

    convenience init(quick: Bool) async throws {
        // REDIS_URL's server when set, else a throwaway one.
        let server = try SharedRedis.server
        try await self.init(
            quick: quick, server: server,
            redis: server.isManaged ? try RedisConfiguration(url: server.url) : try RedisConfiguration.fromEnvironment())
    }

    /// A bench whose streams use `redis` (a TLS port, say) on `server`; its admin connection uses the plain port.
    init(quick: Bool, server: RedisServer, redis: RedisConfiguration) async throws {
        self.quick = quick
        self.server = server
        self.redis = redis
        commands = RedisCommandConnection(configuration: server.isManaged ? try RedisConfiguration(url: server.url) : redis)
        try await commands.connect()
    }

    var port: Int { server.port }

    func scaled(_ count: Int) -> Int { quick ? max(1, count / 10) : count }

    /// A context with its own two connections, under a fresh prefix, with the default flow control or none.
    func context(
        followerWindow: Int? = ResumableStreamConfiguration().followerWindow, durableLog: ResumableStreamConfiguration.DurableLog? = nil
    ) -> ResumableStreamContext {
        let configuration = ResumableStreamConfiguration(
            keyPrefix: "bench-\(UUID().uuidString.prefix(8))", followerWindow: followerWindow, durableLog: durableLog)
        return ResumableStreamContext(redis: redis, configuration: configuration)
    }
}

/// A measurement that runs in a child process of its own, with a fresh heap: in this one the earlier
/// scenarios' freed memory would be reused and hide the per-stream cost.
enum ChildMeasurement: Codable {
    /// Scenario 5's.
    case concurrency
    /// A chat server's load, through the library or not (scenarios 13 and 14).
    case chatLoad(ChatLoad)
}

/// Runs `measurement` in a child process (`BENCH_CHILD`) against this bench's server, and decodes what it found.
func runInChildProcess<Result: Decodable>(_ bench: Bench, _ measurement: ChildMeasurement) throws -> Result {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    var environment = ProcessInfo.processInfo.environment
    environment["BENCH_CHILD"] = String(decoding: try JSONEncoder().encode(measurement), as: UTF8.self)
    environment["REDIS_URL"] = bench.redis.description
    child.environment = environment
    let output = Pipe()
    child.standardOutput = output
    try child.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
        let result = try? JSONDecoder().decode(Result.self, from: Data(line.utf8))
    else { throw BenchmarkFailure("the child process measuring \(measurement) failed (exit \(child.terminationStatus))") }
    return result
}

let quick = ProcessInfo.processInfo.environment["QUICK"].map { !$0.isEmpty && $0 != "0" } ?? false
if ProcessInfo.processInfo.environment["BENCH_ONLY"] == "soak" {
    exit(try await runSoak(try await Bench(quick: quick)) ? 0 : 1)
}
if let child = ProcessInfo.processInfo.environment["BENCH_CHILD"] {
    let bench = try await Bench(quick: quick)
    let output =
        switch try JSONDecoder().decode(ChildMeasurement.self, from: Data(child.utf8)) {
        case .concurrency: try JSONEncoder().encode(try await runConcurrencyScenario(bench))
        case .chatLoad(let load): try JSONEncoder().encode(try await load.run(bench))
        }
    print(String(decoding: output, as: UTF8.self))
    exit(0)
}
let command = quick ? "make bench QUICK=1" : "make bench"
let clock = ContinuousClock()
let runStarted = clock.now
let bench = try await Bench(quick: quick)
print("running \(command) against \(bench.server.isManaged ? "a throwaway redis-server" : "REDIS_URL's server") on port \(bench.port)...")
let (bridgeRows, bridgeFigures) = try await runBridgeScenarios(bench)
// BENCH_ONLY=N runs the bridge (the baselines) and stream scenario N only, and writes no BENCHMARKS.md.
let only = ProcessInfo.processInfo.environment["BENCH_ONLY"].flatMap { $0.isEmpty ? nil : $0 }
let streamRows = await runStreamScenarios(bench, bridge: bridgeFigures, only: only)
let concurrency: [Row] = only == nil || only == "5" ? [try runInChildProcess(bench, .concurrency)] : []
let rows = bridgeRows + streamRows.sorted { Int($0.scenario) ?? 0 < Int($1.scenario) ?? 0 } + concurrency
let elapsed = Measure.seconds(clock.now - runStarted)
await bench.commands.close()

let version =
    try Measure.run("redis-cli", ["-h", bench.server.host, "-p", String(bench.port), "INFO", "server"])
    .split(separator: "\r\n").first { $0.hasPrefix("redis_version:") }?.dropFirst(14) ?? "?"
let header = ["#", "figure", "measured", "baseline (same run)", "ratio", "target", ""]
let cells = rows.map { row in
    [row.scenario, row.figure, row.measured, row.baseline, row.ratio.map { String(format: "%.2fx", $0) } ?? "", row.target, row.verdict]
}
let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
func line(_ values: [String]) -> String {
    zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ")
}
print("")
print(line(header))
for row in cells { print(line(row)) }
print(
    String(
        format: "\n%d rows, %d missed, %d wrong; %.0f s", rows.count,
        rows.filter { $0.met == false }.count, rows.filter { !$0.correct }.count, elapsed))

let markdown = """
    # Benchmarks

    Measured by `\(command)` on \(Measure.machine()), Redis \(version), \(Date().formatted(.iso8601)); the whole run took \(Int(elapsed)) s.
    Every figure stands next to a baseline measured in the same run: these machines are shared and absolute
    times drift, so compare the ratios. Rows B1–B3 measure the Redis bridge alone; 1–14 are the scenarios of
    the resumable-stream benchmark.

    | \(header.joined(separator: " | ")) |
    |\(header.map { _ in "---" }.joined(separator: "|"))|
    \(cells.map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n"))

    """
// The profile (Benchmarks/Profile.md) is written by hand, from `perf`: it follows the table.
let profile = (try? String(contentsOfFile: "Benchmarks/Profile.md", encoding: .utf8)).map { "\n" + $0 } ?? ""
if !quick, only == nil { try (markdown + profile).write(toFile: "BENCHMARKS.md", atomically: true, encoding: .utf8) }
