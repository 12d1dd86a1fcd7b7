// `make bench`: every scenario of the benchmark in one run against one throwaway redis-server (or
// REDIS_URL), each figure next to a baseline measured in the same run; the table also goes to BENCHMARKS.md.
// `make bench QUICK=1` runs a tenth of everything.
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
    /// Connections the benchmark itself holds (the admin one), not counted as the library's.
    let adminConnections = 1

    init(quick: Bool) async throws {
        self.quick = quick
        // REDIS_URL's server when set, else a throwaway one.
        server = try SharedRedis.server
        redis = server.isManaged ? try RedisConfiguration(url: server.url) : try RedisConfiguration.fromEnvironment()
        commands = RedisCommandConnection(configuration: redis)
        try await commands.connect()
    }

    var port: Int { server.port }

    func scaled(_ count: Int) -> Int { quick ? max(1, count / 10) : count }

    /// A context with its own two connections, under a fresh prefix.
    func context() -> ResumableStreamContext {
        ResumableStreamContext(redis: redis, configuration: .init(keyPrefix: "bench-\(UUID().uuidString.prefix(8))"))
    }
}

let quick = ProcessInfo.processInfo.environment["QUICK"].map { !$0.isEmpty && $0 != "0" } ?? false
let command = quick ? "make bench QUICK=1" : "make bench"
let clock = ContinuousClock()
let runStarted = clock.now
let bench = try await Bench(quick: quick)
print("running \(command) against \(bench.server.isManaged ? "a throwaway redis-server" : "REDIS_URL's server") on port \(bench.port)...")
let (bridgeRows, bridgeFigures) = try await runBridgeScenarios(bench)
let concurrency = try await runConcurrencyScenario(bench)
let streamRows = try await runStreamScenarios(bench, bridge: bridgeFigures)
let rows = bridgeRows + streamRows.sorted { $0.scenario < $1.scenario } + [concurrency]
let elapsed = Measure.seconds(clock.now - runStarted)
await bench.commands.close()

let version = try Measure.run("redis-cli", ["-h", bench.server.host, "-p", String(bench.port), "INFO", "server"])
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
print(String(format: "\n%d rows, %d missed, %d wrong; %.0f s", rows.count,
             rows.filter { $0.met == false }.count, rows.filter { !$0.correct }.count, elapsed))

let markdown = """
    # Benchmarks

    Measured by `\(command)` on \(Measure.machine()), Redis \(version), \(Date().formatted(.iso8601)); the whole run took \(Int(elapsed)) s.
    Every figure stands next to a baseline measured in the same run: these machines are shared and absolute
    times drift, so compare the ratios. Rows B1–B3 measure the Redis bridge alone; 1–6 are the scenarios of
    the resumable-stream benchmark.

    | \(header.joined(separator: " | ")) |
    |\(header.map { _ in "---" }.joined(separator: "|"))|
    \(cells.map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n"))

    """
if !quick { try markdown.write(toFile: "BENCHMARKS.md", atomically: true, encoding: .utf8) }
