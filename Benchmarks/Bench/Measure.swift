import Foundation
import RedisBridge

/// One line of the results table: a figure next to its baseline from the same run.
struct Row: Codable {
    let scenario: String
    let figure: String
    let measured: String
    let baseline: String
    let ratio: Double?
    let target: String
    /// `nil` when the row has no target of its own.
    let met: Bool?
    /// A fast wrong answer is a failure: false when the bytes received differ from the bytes produced.
    var correct = true

    var verdict: String {
        guard correct else { return "FAILED: wrong bytes" }
        guard let met else { return "" }
        return met ? "met" : "MISSED"
    }
}

enum Measure {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func microseconds(_ duration: Duration) -> Double { seconds(duration) * 1e6 }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    /// Runs `redis-benchmark --csv` against the server; returns (requests per second, p50 in µs).
    static func redisBenchmark(port: Int, _ arguments: [String]) throws -> (rps: Double, p50: Double) {
        let output = try run("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "--csv"] + arguments)
        guard
            let row = output.split(separator: "\n").last?.split(separator: ",")
                .map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }),
            row.count >= 5, let rps = Double(row[1]), let p50 = Double(row[4])
        else { throw RedisError.unexpectedReply("redis-benchmark printed: \(output)") }
        return (rps, p50 * 1000)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The commands that clients sent to the server while `body` ran, by name, from `redis-cli monitor`: unlike
    /// `INFO commandstats`, this leaves out the commands a script runs inside Redis (`[0 lua]` lines).
    static func clientCommands(host: String, port: Int, during body: () async throws -> Void) async throws -> [String: Int] {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bench-monitor-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let monitor = Process()
        monitor.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Line-buffered: redis-cli writing to a file would otherwise hold its output until it exits.
        monitor.arguments = ["stdbuf", "-oL", "redis-cli", "-h", host, "-p", String(port), "monitor"]
        monitor.standardOutput = try FileHandle(forWritingTo: log)
        monitor.standardError = FileHandle.nullDevice
        try monitor.run()
        // SIGKILL: a child started from a dispatch thread inherits its blocked signals, SIGTERM included.
        defer { if monitor.isRunning { kill(monitor.processIdentifier, SIGKILL) } }
        // MONITOR answers OK once it is attached.
        let attachBy = ContinuousClock.now + .seconds(5)
        while (try? String(contentsOf: log, encoding: .utf8))?.hasPrefix("OK") != true {
            guard ContinuousClock.now < attachBy else { throw RedisError.unexpectedReply("redis-cli monitor did not attach") }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await body()
        try await Task.sleep(for: .milliseconds(300))
        kill(monitor.processIdentifier, SIGKILL)
        monitor.waitUntilExit()
        var counts: [String: Int] = [:]
        for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
            // 1700000000.123456 [0 127.0.0.1:54321] "SET" "key" ...
            guard let close = line.firstIndex(of: "]"), !line[..<close].hasSuffix("lua") else { continue }
            let name = line[close...].dropFirst(3).prefix { $0 != "\"" }
            if !name.isEmpty { counts[name.lowercased(), default: 0] += 1 }
        }
        return counts
    }

    /// How many PUBLISH commands the server ran so far.
    static func publishCalls(_ commands: RedisCommandConnection) async throws -> Int {
        let line = try await info(commands, "commandstats").first { $0.hasPrefix("cmdstat_publish:") } ?? ""
        return line.split(separator: ",").first.flatMap { Int($0.split(separator: "=").last ?? "") } ?? 0
    }

    /// The largest output buffer (`omem`, bytes) of a pub/sub client, sampled every millisecond until cancelled.
    static func peakSubscriberOutputBuffer(_ commands: RedisCommandConnection) async throws -> Int {
        var peak = 0
        while !Task.isCancelled {
            let clients = try await commands.send(["CLIENT", "LIST", "TYPE", "pubsub"]).string ?? ""
            for field in clients.split(whereSeparator: { $0 == " " || $0 == "\n" }) where field.hasPrefix("omem=") {
                peak = max(peak, Int(field.dropFirst(5)) ?? 0)
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return peak
    }

    static func infoField(_ commands: RedisCommandConnection, _ section: String, _ field: String) async throws -> Int {
        let line = try await info(commands, section).first { $0.hasPrefix("\(field):") } ?? ""
        return Int(line.dropFirst(field.count + 1)) ?? -1
    }

    static func info(_ commands: RedisCommandConnection, _ section: String) async throws -> [Substring] {
        (try await commands.send(["INFO", .string(section)]).string ?? "").split(separator: "\r\n")
    }

    /// A field of /proc/self/status in bytes (`VmRSS`, `VmHWM`).
    static func memory(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("\(field):") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Resets VmHWM to the current RSS (Linux 4.0+), so a peak can be measured for one phase.
    static func resetPeakMemory() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// The CPU time this process has used so far, user and system, in seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = { (time: timeval) in Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory =
            (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8))?
            .split(separator: "\n").first?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return
            "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(model)), \(memory / 1024 / 1024) GiB, \(ProcessInfo.processInfo.operatingSystemVersionString)"
    }
}

/// A source of LLM shape: `count` tokens of 4 bytes, `burst` at a time, then a pause.
struct PacedTokens: AsyncSequence, Sendable {
    typealias Element = String
    let count: Int
    let burst: Int
    let pause: Duration

    var text: String { (0..<count).map { "t\($0 % 10)x " }.joined() }

    func makeAsyncIterator() -> Iterator { Iterator(source: self) }

    struct Iterator: AsyncIteratorProtocol {
        let source: PacedTokens
        var index = 0

        mutating func next() async -> String? {
            guard index < source.count else { return nil }
            if index > 0, index % source.burst == 0 { try? await Task.sleep(for: source.pause) }
            defer { index += 1 }
            return "t\(index % 10)x "
        }
    }
}

/// A synchronous source of `count` chunks of `length` characters (the last character the chunk's index
/// modulo 10, so that a wrong order shows in a byte comparison): it costs nothing itself, so what is
/// measured is the library.
struct ChunkSource: AsyncSequence, Sendable {
    typealias Element = String
    let count: Int
    let length: Int

    func makeAsyncIterator() -> Iterator { Iterator(count: count, body: String(repeating: "x", count: length - 1)) }

    /// The concatenation of all chunks, to compare what a reader received.
    var text: String {
        let body = String(repeating: "x", count: length - 1)
        var text = ""
        text.reserveCapacity(count * length)
        for index in 0..<count { text += body + String(index % 10) }
        return text
    }

    struct Iterator: AsyncIteratorProtocol {
        let count: Int
        let body: String
        var index = 0

        init(count: Int, body: String) {
            self.count = count
            self.body = body
        }

        mutating func next() async -> String? {
            guard index < count else { return nil }
            defer { index += 1 }
            return body + String(index % 10)
        }
    }
}
